/**
 * The native addon (native/; scripts/build-native-kernel.sh builds it into dist/native/fast-kernel.node when g++ and
 * Node's headers are there): where it may be and its loader, shared by the fast kernel (core/engines/fast-kernel.ts)
 * and the warm Lanczos solve's vector work (core/linalg.ts). Optional by design: without it both run their
 * portable code, with the same numbers.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where the built addon may be: next to the compiled code (dist/) or, from the sources, in dist/. */
export function nativeAddonCandidates(): string[] {
  return [
    fileURLToPath(new URL('../native/fast-kernel.node', import.meta.url)),
    fileURLToPath(new URL('../dist/native/fast-kernel.node', import.meta.url)),
  ];
}

let loaded: { addon: unknown; why: string } | null = null;

/** The addon's exports (native/addon.cc; each user types what it reads), or null and why it is not here. */
export function nativeAddon(): { addon: unknown; why: string } {
  if (!loaded) {
    const path = nativeAddonCandidates().find((p) => existsSync(p));
    if (!path) {
      loaded = { addon: null, why: `not built (looked for ${nativeAddonCandidates().join(', ')}; scripts/build-native-kernel.sh)` };
    } else {
      try {
        loaded = { addon: createRequire(import.meta.url)(path) as unknown, why: '' };
      } catch (e) {
        loaded = { addon: null, why: `${path} does not load: ${(e as Error).message}` };
      }
    }
  }
  return loaded;
}
