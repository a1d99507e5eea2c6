import { Client, Connection, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { sweepWorkflow } from '../workflows/sweep.js';
import { localUp } from '../workers/local-stack.js';
import { connectionOptions, ConnectionConfigError, temporalSettings, type TemporalSettings } from '../workers/connection.js';
import { CliError, EXIT_BAD_INPUT, EXIT_FAILED } from './errors.js';
import { envConcurrency, type ConnectionArgs } from './options.js';

/** A connected client and where its web UI is. */
export interface Target {
  client: Client;
  connection: Connection;
  namespace: string;
  address: string;
  /** Base URL of the Temporal web UI. */
  uiBase: string;
  /** True when this is the embedded local stack. */
  local: boolean;
}

const log = (m: string) => process.stderr.write(`${m}\n`);

/** The connection settings of a command (workers/connection.ts); a configuration to fix is bad input (exit 2). */
export function connectionSettings(args: ConnectionArgs): TemporalSettings {
  try {
    return temporalSettings(args);
  } catch (err) {
    if (err instanceof ConnectionConfigError) throw new CliError(err.message, EXIT_BAD_INPUT);
    throw err;
  }
}

/**
 * Connect to Temporal as configured (--address/--namespace/--profile over Temporal's environment configuration),
 * else to the embedded local stack (started in the background when it is not running). `writesTo`: the store root
 * the command writes to, which the local stack's worker is then allowed to write under. The web UI of a remote
 * server is $TEMPORAL_UI_URL, else port 8233 of its host.
 */
export async function connect(args: ConnectionArgs, writesTo?: string): Promise<Target> {
  const settings = connectionSettings(args);
  let address: string;
  let namespace = settings.namespace;
  let uiBase: string;
  if (settings.address) {
    address = settings.address;
    uiBase = process.env.TEMPORAL_UI_URL ?? `http://${address.replace(/:\d+$/, '')}:8233`;
  } else {
    const stack = await localUp(log, { concurrency: envConcurrency(), allowStore: writesTo });
    address = stack.address;
    namespace = args.namespace ?? stack.namespace;
    uiBase = stack.uiUrl;
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions({ ...settings, address }), connectTimeout: 5000 });
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${address} (${settings.security}): ${(err as Error).message}`, EXIT_FAILED);
  }
  return { client: new Client({ connection, namespace }), connection, namespace, address, uiBase: uiBase.replace(/\/$/, ''), local: !settings.address };
}

export function workflowUrl(t: Target, workflowId: string): string {
  return `${t.uiBase}/namespaces/${encodeURIComponent(t.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export const workflowIdOf = (sweepId: string) => `sweep-${sweepId}`;

/** A sweep's workflow handle and description; exit 1 with a clear message when the server has no such sweep. */
export async function describeSweep(
  t: Target,
  sweepId: string,
): Promise<{ workflowId: string; handle: WorkflowHandle<typeof sweepWorkflow>; desc: WorkflowExecutionDescription }> {
  const workflowId = workflowIdOf(sweepId);
  const handle = t.client.workflow.getHandle<typeof sweepWorkflow>(workflowId);
  const desc = await handle.describe().catch((err: Error) => {
    throw new CliError(`no sweep ${sweepId} on ${t.address} (${err.message})`, EXIT_FAILED);
  });
  return { workflowId, handle, desc };
}

/** A task queue and what its workers poll it for. */
export interface QueueNeed {
  name: string;
  kind: 'workflow' | 'activity';
  /** What a worker on it does, for the message ("sweep workflows", "training"). */
  role: string;
}

/**
 * The queues no worker has polled lately (the server remembers pollers for a few minutes), so `sweep start`
 * can say why a sweep would not move instead of waiting in silence. Unknown (an RPC error) counts as polled.
 */
export async function queuesWithoutWorkers(t: Target, queues: QueueNeed[]): Promise<QueueNeed[]> {
  const types = proto.temporal.api.enums.v1.TaskQueueType;
  const idle = await Promise.all(
    queues.map(async (q) => {
      try {
        const res = await t.connection.workflowService.describeTaskQueue({
          namespace: t.namespace,
          taskQueue: { name: q.name },
          taskQueueType: q.kind === 'workflow' ? types.TASK_QUEUE_TYPE_WORKFLOW : types.TASK_QUEUE_TYPE_ACTIVITY,
        });
        return (res.pollers ?? []).length === 0;
      } catch {
        return false;
      }
    }),
  );
  return queues.filter((_, i) => idle[i]);
}
