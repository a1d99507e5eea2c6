// N-API addon of the `fast` engine's native kernel (core/engines/fast-kernel.ts loads it when it is built):
//   alloc(bytes)          -> a zeroed, 64-byte aligned ArrayBuffer, the kernel's memory (the glue's views and the
//                            kernels below share it; no copies)
//   packTrials / unpackTrials -> trial vectors (float64) into and out of the memory's lane layout
//   isas                  -> the instruction sets this CPU (and OS) can run, best last: 'avx2', 'avx512'
//   avx2 / avx512         -> { lanes, stepBlock, evalBlock, hvpStateBlock, hvpWeightsBlock, hvpCachedBlock }: the spirals kernels of
//                            asm/fast-kernel.ts with the same arguments (byte offsets into the memory), preceded
//                            by the memory itself
//   avx2.linalg / avx512.linalg -> { reorthogonalize, combine, scale }: core/linalg.ts's BlockOps on the caller's
//                            Float64Arrays (no copies; native/linalg.h: the same numbers on every instruction set)
// Every offset and extent is checked against the memory (a RangeError, never a stray write). The kernels run with
// the IEEE default floating-point state (round to nearest, no flush-to-zero), as wasm prescribes.
#include <node_api.h>
#include <emmintrin.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "kernels.h"

namespace {

constexpr size_t kMaxArgs = 24;
/** float64 per 3 x 3 term in the flip path's scratch rows (spirals.h kRow). */
constexpr int64_t kTermRow = 12;

struct Call {
  napi_env env;
  napi_value argv[kMaxArgs];
  uint8_t* base = nullptr;
  size_t bytes = 0;
  bool failed = false;
  const SpiralsKernels* k = nullptr;

  Call(napi_env e, napi_callback_info info, size_t expected) : env(e) {
    size_t argc = kMaxArgs;
    void* data = nullptr;
    if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok || argc != expected) {
      fail("fast native kernel: wrong number of arguments");
      return;
    }
    k = static_cast<const SpiralsKernels*>(data);
    void* p = nullptr;
    bool isBuffer = false;
    if (napi_is_arraybuffer(env, argv[0], &isBuffer) != napi_ok || !isBuffer ||
        napi_get_arraybuffer_info(env, argv[0], &p, &bytes) != napi_ok) {
      fail("fast native kernel: the first argument must be the kernel's ArrayBuffer");
      return;
    }
    base = static_cast<uint8_t*>(p);
  }

  void fail(const char* message) {
    if (!failed) napi_throw_range_error(env, nullptr, message);
    failed = true;
  }

  int64_t integer(size_t i) {
    int64_t v = 0;
    if (failed) return 0;
    if (napi_get_value_int64(env, argv[i], &v) != napi_ok) fail("fast native kernel: arguments must be numbers");
    return v;
  }

  int count(size_t i) {
    const int64_t v = integer(i);
    if (v < 1 || v > (int64_t{1} << 24)) fail("fast native kernel: a size is out of range");
    return static_cast<int>(v);
  }

  /** The region at byte offset argv[i] of `elements` items of `size` bytes, or null (and a RangeError). */
  void* region(size_t i, int64_t elements, size_t size) {
    const int64_t off = integer(i);
    if (failed) return nullptr;
    if (off < 0 || off % static_cast<int64_t>(size) != 0 || elements < 0 ||
        static_cast<uint64_t>(off) + static_cast<uint64_t>(elements) * size > bytes) {
      fail("fast native kernel: a buffer lies outside the kernel's memory");
      return nullptr;
    }
    return base + off;
  }
  float* f32(size_t i, int64_t n) { return static_cast<float*>(region(i, n, 4)); }
  int32_t* i32(size_t i, int64_t n) { return static_cast<int32_t*>(region(i, n, 4)); }
  double* f64(size_t i, int64_t n) { return static_cast<double*>(region(i, n, 8)); }

  // The spirals kernels' buffers (spirals.h layouts): a block's parameters, per-sample and per-unit scratch,
  // the inputs (x0, x1 pairs) and labels (each 0, 1 or 2).
  float* params(size_t i, int w) { return f32(i, (6 * int64_t{w} + 3) * k->lanes); }
  float* perSample(size_t i, int n) { return f32(i, 3 * int64_t{n} * k->lanes); }
  float* perUnit(size_t i, int w) { return f32(i, 9 * int64_t{w} * k->lanes); }
  float* weights(size_t i) { return f32(i, 9 * k->lanes); }
  /** The hvp's mask cache: one lane mask (lanes / 8 bytes) per sample and unit. */
  void* masks(size_t i, int n, int w) { return region(i, int64_t{n} * w, static_cast<size_t>(k->lanes / 8)); }
  /** A flip list's capacity: 0 (no lists) to 2^24. */
  int capacity(size_t i) {
    const int64_t v = integer(i);
    if (v < 0 || v > (int64_t{1} << 24)) fail("fast native kernel: a size is out of range");
    return static_cast<int>(v);
  }
  /** A block's flip lists (spirals.h FlipLists): cap entries per lane, and n + 2 starts per lane. */
  int32_t* flips(size_t i, int cap) { return i32(i, int64_t{cap} * k->lanes); }
  int32_t* flipStarts(size_t i, int n) { return i32(i, (int64_t{n} + 2) * k->lanes); }
  const float* inputs(size_t i, int n) { return f32(i, 2 * int64_t{n}); }
  const int32_t* labels(size_t i, int n) {
    const int32_t* y = i32(i, n);
    for (int mu = 0; !failed && mu < n; mu++) if (y[mu] < 0 || y[mu] > 2) fail("fast native kernel: a label is not 0, 1 or 2");
    return y;
  }
};

/** Runs f with the IEEE default MXCSR (all exceptions masked, round to nearest, no FTZ/DAZ), then restores it. */
template <class Fn>
void ieee(Fn f) {
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(0x1F80);
  f();
  _mm_setcsr(saved);
}

// stepBlock(mem, th, grad, lr, act, om, x, y, n, w, ce, dz, lossOut, update)
napi_value StepBlock(napi_env env, napi_callback_info info) {
  Call c(env, info, 14);
  if (c.failed) return nullptr;
  const int n = c.count(8), w = c.count(9), L = c.k->lanes;
  float* th = c.params(1, w);
  float* grad = c.params(2, w);
  const float* lr = c.f32(3, L);
  const int32_t* act = c.i32(4, L);
  const float* om = c.weights(5);
  const float* x = c.inputs(6, n);
  const int32_t* y = c.labels(7, n);
  const int ce = static_cast<int>(c.integer(10));
  float* dz = c.perSample(11, n);
  double* loss = c.f64(12, L);
  const int update = static_cast<int>(c.integer(13));
  if (c.failed) return nullptr;
  ieee([&] { c.k->stepBlock(th, grad, lr, act, om, x, y, n, w, ce, dz, loss, update); });
  return nullptr;
}

/** The arguments evalBlock and hvpWeightsBlock start with: (mem, th, om, x, y, n, w, ce, ...). */
struct Forward {
  int n, w;
  const float* th;
  const float* om;
  const float* x;
  const int32_t* y;
  int ce;
  explicit Forward(Call& c)
      : n(c.count(5)), w(c.count(6)), th(c.params(1, w)), om(c.weights(2)), x(c.inputs(3, n)), y(c.labels(4, n)),
        ce(static_cast<int>(c.integer(7))) {}
};

// evalBlock(mem, th, om, x, y, n, w, ce, out)
napi_value EvalBlock(napi_env env, napi_callback_info info) {
  Call c(env, info, 9);
  if (c.failed) return nullptr;
  const Forward a(c);
  double* out = c.f64(8, 3 * c.k->lanes);
  if (c.failed) return nullptr;
  ieee([&] { c.k->evalBlock(a.th, a.om, a.x, a.y, a.n, a.w, a.ce, out); });
  return nullptr;
}

// hvpStateBlock(mem, th, x, n, w, ce, pp, fl, fo, ok, cap, prev, ppl, mk)
napi_value HvpStateBlock(napi_env env, napi_callback_info info) {
  Call c(env, info, 14);
  if (c.failed) return nullptr;
  const int n = c.count(3), w = c.count(4);
  const float* th = c.params(1, w);
  const float* x = c.inputs(2, n);
  const int ce = static_cast<int>(c.integer(5));
  float* pp = c.perSample(6, n);
  const int cap = c.capacity(10);
  // Capacity 0: no lists (their starts and scratch are not allocated and never touched).
  int32_t* fl = c.flips(7, cap);
  int32_t* fo = cap ? c.flipStarts(8, n) : nullptr;
  int32_t* ok = c.i32(9, c.k->lanes);
  int32_t* prev = cap ? c.i32(11, w) : nullptr;
  float* ppl = cap ? c.perSample(12, n) : nullptr;
  void* mk = c.masks(13, n, w);
  if (c.failed) return nullptr;
  ieee([&] { c.k->hvpStateBlock(th, x, n, w, ce, pp, fl, fo, ok, cap, prev, ppl, mk); });
  return nullptr;
}

/** Whether any of the count entries lies outside [0, limit): 4 at a time (SSE2, this build's baseline), as this runs
 * before every product over every lane's list (1.7% of a product at 300 samples and 1,000 units one at a time). */
bool strayEntries(const int32_t* list, int32_t count, int32_t limit) {
  // Unsigned x < limit as a signed comparison of both sides offset by 2^31 (negative entries become large).
  const __m128i bias = _mm_set1_epi32(INT32_MIN);
  const __m128i top = _mm_set1_epi32(limit ^ INT32_MIN);
  __m128i inside = _mm_set1_epi32(-1);
  int32_t e = 0;
  for (; e + 4 <= count; e += 4) {
    const __m128i x = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(list + e)), bias);
    inside = _mm_and_si128(inside, _mm_cmpgt_epi32(top, x));
  }
  bool stray = _mm_movemask_epi8(inside) != 0xFFFF;
  for (; e < count; e++) stray = stray || static_cast<uint32_t>(list[e]) >= static_cast<uint32_t>(limit);
  return stray;
}

/** Whether the lanes with ok[l] have flip lists a walk may follow: in order, inside their capacity, naming units (the
 * lists are hvpStateBlock's output: a stale or foreign buffer is an error, not a stray read or write). */
bool flipListsValid(Call& c, const int32_t* fl, const int32_t* fo, const int32_t* ok, int n, int w, int cap) {
  for (int l = 0; !c.failed && l < c.k->lanes; l++) {
    if (!ok[l]) continue;
    if (!cap) {
      c.fail("fast native kernel: a lane takes flip lists of capacity 0");
      break;
    }
    const int32_t* o = fo + int64_t{l} * (n + 2);
    if (o[0] != 0 || o[n + 1] > cap) c.fail("fast native kernel: a flip list is out of range");
    for (int mu = 0; !c.failed && mu <= n; mu++) if (o[mu + 1] < o[mu]) c.fail("fast native kernel: a flip list is out of order");
    if (c.failed) break;
    if (strayEntries(fl + int64_t{l} * cap, o[n + 1], 2 * w)) c.fail("fast native kernel: a flip names no unit");
  }
  return !c.failed;
}

// hvpWeightsBlock(mem, th, om, x, y, n, w, ce, pp, dz, D, fl, fo, ok, cap, perLaneN, perLaneW, Ed, mk)
napi_value HvpWeightsBlock(napi_env env, napi_callback_info info) {
  Call c(env, info, 19);
  if (c.failed) return nullptr;
  const Forward a(c);
  const float* pp = c.perSample(8, a.n);
  float* dz = c.perSample(9, a.n);
  float* D = c.perUnit(10, a.w);
  const int cap = c.capacity(14);
  const int32_t* fl = c.flips(11, cap);
  const int32_t* fo = cap ? c.flipStarts(12, a.n) : nullptr;
  const int32_t* ok = c.i32(13, c.k->lanes);
  float* perLaneN = cap ? c.f32(15, 3 * int64_t{a.n}) : nullptr;
  float* perLaneW = cap ? c.f32(16, 9 * int64_t{a.w} * c.k->lanes) : nullptr;
  double* Ed = cap ? c.f64(17, int64_t{a.w} * kTermRow) : nullptr;
  const void* mk = c.masks(18, a.n, a.w);
  if (c.failed || !flipListsValid(c, fl, fo, ok, a.n, a.w, cap)) return nullptr;
  ieee([&] {
    c.k->hvpWeightsBlock(a.th, a.om, a.x, a.y, a.n, a.w, a.ce, pp, dz, D, fl, fo, ok, cap, perLaneN, perLaneW, Ed, mk);
  });
  return nullptr;
}

// hvpCachedBlock(mem, th, v, out, om, x, n, w, ce, y, pp, D, rdz, E, fl, fo, ok, cap, tab, ppl, perLaneW, Ed, mk)
napi_value HvpCachedBlock(napi_env env, napi_callback_info info) {
  Call c(env, info, 23);
  if (c.failed) return nullptr;
  const int n = c.count(6), w = c.count(7);
  const float* th = c.params(1, w);
  const float* v = c.params(2, w);
  float* out = c.params(3, w);
  const float* om = c.weights(4);
  const float* x = c.inputs(5, n);
  const int ce = static_cast<int>(c.integer(8));
  const int32_t* y = c.labels(9, n);
  const float* pp = c.perSample(10, n);
  const float* D = c.perUnit(11, w);
  float* rdz = c.perSample(12, n);
  float* E = c.perUnit(13, w);
  const int cap = c.capacity(17);
  const int32_t* fl = c.flips(14, cap);
  const int32_t* fo = cap ? c.flipStarts(15, n) : nullptr;
  const int32_t* ok = c.i32(16, c.k->lanes);
  double* tab = cap ? c.f64(18, 2 * int64_t{w} * kTermRow * c.k->lanes) : nullptr;
  const float* ppl = cap ? c.perSample(19, n) : nullptr;
  float* perLaneW = cap ? c.f32(20, 9 * int64_t{w} * c.k->lanes) : nullptr;
  double* Ed = cap ? c.f64(21, int64_t{w} * kTermRow) : nullptr;
  const void* mk = c.masks(22, n, w);
  if (c.failed || !flipListsValid(c, fl, fo, ok, n, w, cap)) return nullptr;
  ieee([&] { c.k->hvpCachedBlock(th, v, out, om, x, n, w, ce, y, pp, D, rdz, E, fl, fo, ok, cap, tab, ppl, perLaneW, Ed, mk); });
  return nullptr;
}

// alloc(bytes): zeroed, 64-byte aligned, freed when the ArrayBuffer is collected.
napi_value Alloc(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1 ||
      napi_get_value_int64(env, argv[0], &bytes) != napi_ok || bytes < 1 || bytes > (int64_t{1} << 40)) {
    napi_throw_range_error(env, nullptr, "fast native kernel: alloc(bytes) needs a positive size");
    return nullptr;
  }
  const size_t size = (static_cast<size_t>(bytes) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, size);
  if (!p) {
    napi_throw_range_error(env, nullptr, "fast native kernel: out of memory");
    return nullptr;
  }
  std::memset(p, 0, size);
  napi_value buffer;
  const napi_status status = napi_create_external_arraybuffer(
      env, p, static_cast<size_t>(bytes), [](napi_env, void* data, void*) { std::free(data); }, nullptr, &buffer);
  if (status != napi_ok) {
    std::free(p);
    napi_throw_error(env, nullptr, "fast native kernel: cannot create the ArrayBuffer");
    return nullptr;
  }
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, bytes, &adjusted);
  return buffer;
}

/** The arguments of a call on the caller's own arrays (linalg, transposes): typed arrays (checked for type and
 * length), an ArrayBuffer, integers; the callback's data pointer (the LinalgKernels of a linalg call). */
struct ArrayCall {
  napi_env env;
  napi_value argv[kMaxArgs];
  const LinalgKernels* k = nullptr;
  bool failed = false;

  ArrayCall(napi_env e, napi_callback_info info, size_t expected) : env(e) {
    size_t argc = kMaxArgs;
    void* data = nullptr;
    if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok || argc != expected) {
      fail("native addon: wrong number of arguments");
      return;
    }
    k = static_cast<const LinalgKernels*>(data);
  }
  /** A non-negative byte offset (no size cap). */
  int64_t offset(size_t i) {
    int64_t v = 0;
    if (failed) return 0;
    if (napi_get_value_int64(env, argv[i], &v) != napi_ok || v < 0) fail("native addon: an offset is out of range");
    return v;
  }
  /** argv[i] as an ArrayBuffer: its bytes and size. */
  uint8_t* buffer(size_t i, size_t& bytes) {
    void* p = nullptr;
    bool is = false;
    if (failed) return nullptr;
    if (napi_is_arraybuffer(env, argv[i], &is) != napi_ok || !is || napi_get_arraybuffer_info(env, argv[i], &p, &bytes) != napi_ok) {
      fail("native addon: an argument must be an ArrayBuffer");
      return nullptr;
    }
    return static_cast<uint8_t*>(p);
  }
  void fail(const char* message) {
    if (!failed) napi_throw_range_error(env, nullptr, message);
    failed = true;
  }
  int count(size_t i) {
    int64_t v = 0;
    if (failed) return 0;
    if (napi_get_value_int64(env, argv[i], &v) != napi_ok || v < 0 || v > (int64_t{1} << 30)) fail("native addon: a size is out of range");
    return static_cast<int>(v);
  }
  void* typed(napi_value value, napi_typedarray_type want, size_t length) {
    if (failed) return nullptr;
    bool is = false;
    napi_typedarray_type type;
    size_t n = 0;
    void* data = nullptr;
    if (napi_is_typedarray(env, value, &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, value, &type, &n, &data, nullptr, nullptr) != napi_ok || type != want || n < length) {
      fail("native addon: an array has the wrong type or is too short");
      return nullptr;
    }
    return data;
  }
  double* f64(size_t i, size_t length) { return static_cast<double*>(typed(argv[i], napi_float64_array, length)); }
  const uint8_t* u8(size_t i, size_t length) { return static_cast<const uint8_t*>(typed(argv[i], napi_uint8_array, length)); }
  const int32_t* i32(size_t i, size_t length) { return static_cast<const int32_t*>(typed(argv[i], napi_int32_array, length)); }
  /** The first n Float64Arrays (each >= length) of the JS array argv[i]. */
  std::vector<const double*> basis(size_t i, int n, size_t length) {
    std::vector<const double*> out;
    uint32_t have = 0;
    if (failed) return out;
    if (napi_get_array_length(env, argv[i], &have) != napi_ok || have < static_cast<uint32_t>(n)) {
      fail("native linalg: the basis has too few vectors");
      return out;
    }
    for (int j = 0; j < n && !failed; j++) {
      napi_value v;
      if (napi_get_element(env, argv[i], static_cast<uint32_t>(j), &v) != napi_ok) fail("native linalg: cannot read the basis");
      else out.push_back(static_cast<const double*>(typed(v, napi_float64_array, length)));
    }
    return out;
  }
};

// packTrials(mem, at, v, K, P, lanes, slots, run) / unpackTrials(mem, at, out, K, P, lanes, slots, run): trial k's P
// float64 values (v or out at k * P) <-> slot i, lane k % lanes of block k / lanes of the packed float32 region at
// byte offset `at` (core/engines/fast-kernel.ts writePacked / readPacked with the spirals kernels' identity layout),
// for the blocks b with run[b] = 1; float64 -> float32 rounds to nearest even, as a Float32Array store does.
template <bool kPack>
napi_value Transpose(napi_env env, napi_callback_info info) {
  ArrayCall c(env, info, 8);
  size_t bytes = 0;
  uint8_t* mem = c.buffer(0, bytes);
  const int64_t at = c.offset(1);
  const int K = c.count(3), P = c.count(4), lanes = c.count(5), slots = c.count(6);
  const int64_t blocks = lanes > 0 ? (K + lanes - 1) / lanes : 0;
  double* v = c.f64(2, static_cast<size_t>(K) * P);
  const uint8_t* run = c.u8(7, blocks);
  if (!c.failed && (lanes < 1 || slots < P || at % 4 != 0 || static_cast<uint64_t>(at) + static_cast<uint64_t>(blocks * slots * lanes) * 4 > bytes)) {
    c.fail("native addon: the packed region lies outside the kernel's memory");
  }
  if (c.failed) return nullptr;
  float* f = reinterpret_cast<float*>(mem + at);
  ieee([&] {
    // Block by block, slot-major: each slot's lanes are one contiguous run of floats.
    for (int64_t b = 0; b < blocks; b++) {
      if (!run[b]) continue;
      const int64_t k0 = b * lanes, count = K - k0 < lanes ? K - k0 : lanes;
      float* block = f + b * slots * lanes;
      double* trials = v + k0 * P;
      for (int64_t i = 0; i < P; i++) {
        float* slot = block + i * lanes;
        for (int64_t l = 0; l < count; l++) {
          if (kPack) slot[l] = static_cast<float>(trials[l * P + i]);
          else trials[l * P + i] = slot[l];
        }
      }
    }
  });
  return nullptr;
}

// reorthogonalize(w, Q, n, K, P, open, h, norm2): every block k with open[k] (BlockOps.reorthogonalize).
napi_value Reorthogonalize(napi_env env, napi_callback_info info) {
  ArrayCall c(env, info, 8);
  const int n = c.count(2), K = c.count(3), P = c.count(4);
  const size_t KP = static_cast<size_t>(K) * P;
  double* w = c.f64(0, KP);
  const std::vector<const double*> Q = c.basis(1, n, KP);
  const uint8_t* open = c.u8(5, K);
  double* h = c.f64(6, static_cast<size_t>(K) * n);
  double* norm2 = c.f64(7, K);
  if (c.failed) return nullptr;
  std::vector<const double*> Qk(n);
  for (int k = 0; k < K; k++) {
    if (!open[k]) continue;
    const size_t off = static_cast<size_t>(k) * P;
    for (int i = 0; i < n; i++) Qk[i] = Q[i] + off;
    norm2[k] = c.k->reorthogonalize(w + off, Qk.data(), n, P, h + static_cast<size_t>(k) * n);
  }
  return nullptr;
}

// combine(out, Q, coef, m, len, K, P): every block k with len[k] > 0 (BlockOps.combine).
napi_value Combine(napi_env env, napi_callback_info info) {
  ArrayCall c(env, info, 7);
  const int m = c.count(3), K = c.count(5), P = c.count(6);
  const size_t KP = static_cast<size_t>(K) * P;
  double* out = c.f64(0, KP);
  const double* coef = c.f64(2, static_cast<size_t>(K) * m);
  const int32_t* len = c.i32(4, K);
  int most = 0;
  for (int k = 0; !c.failed && k < K; k++) {
    if (len[k] < 0 || len[k] > m) c.fail("native linalg: a length is out of range");
    else if (len[k] > most) most = len[k];
  }
  const std::vector<const double*> Q = c.basis(1, most, KP);
  if (c.failed) return nullptr;
  std::vector<const double*> Qk(most);
  for (int k = 0; k < K; k++) {
    if (len[k] == 0) continue;
    const size_t off = static_cast<size_t>(k) * P;
    for (int i = 0; i < len[k]; i++) Qk[i] = Q[i] + off;
    c.k->combine(out + off, Qk.data(), coef + static_cast<size_t>(k) * m, len[k], P);
  }
  return nullptr;
}

// scale(x, factors, K, P, which): x_k *= factors[k] for every block k with which[k] (BlockOps.scale).
napi_value Scale(napi_env env, napi_callback_info info) {
  ArrayCall c(env, info, 5);
  const int K = c.count(2), P = c.count(3);
  double* x = c.f64(0, static_cast<size_t>(K) * P);
  const double* f = c.f64(1, K);
  const uint8_t* which = c.u8(4, K);
  if (c.failed) return nullptr;
  for (int k = 0; k < K; k++) if (which[k]) c.k->scale(f[k], x + static_cast<size_t>(k) * P, P);
  return nullptr;
}

bool set(napi_env env, napi_value obj, const char* name, napi_value v) {
  return napi_set_named_property(env, obj, name, v) == napi_ok;
}

napi_value linalgSet(napi_env env, const LinalgKernels* k) {
  napi_value obj;
  napi_create_object(env, &obj);
  const struct { const char* name; napi_callback cb; } fns[] = {
      {"reorthogonalize", Reorthogonalize}, {"combine", Combine}, {"scale", Scale}};
  for (const auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, const_cast<LinalgKernels*>(k), &fn);
    set(env, obj, f.name, fn);
  }
  return obj;
}

napi_value kernelSet(napi_env env, const SpiralsKernels* k) {
  napi_value obj, lanes;
  napi_create_object(env, &obj);
  napi_create_int32(env, k->lanes, &lanes);
  set(env, obj, "lanes", lanes);
  const struct { const char* name; napi_callback cb; } fns[] = {
      {"stepBlock", StepBlock}, {"evalBlock", EvalBlock}, {"hvpStateBlock", HvpStateBlock}, {"hvpWeightsBlock", HvpWeightsBlock}, {"hvpCachedBlock", HvpCachedBlock}};
  for (const auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, const_cast<SpiralsKernels*>(k), &fn);
    set(env, obj, f.name, fn);
  }
  return obj;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value alloc, isas, name;
  napi_create_function(env, "alloc", NAPI_AUTO_LENGTH, Alloc, nullptr, &alloc);
  set(env, exports, "alloc", alloc);
  napi_value pack, unpack;
  napi_create_function(env, "packTrials", NAPI_AUTO_LENGTH, Transpose<true>, nullptr, &pack);
  set(env, exports, "packTrials", pack);
  napi_create_function(env, "unpackTrials", NAPI_AUTO_LENGTH, Transpose<false>, nullptr, &unpack);
  set(env, exports, "unpackTrials", unpack);
  napi_create_array(env, &isas);
  uint32_t count = 0;
  __builtin_cpu_init();
  // libgcc's checks include the OS (XCR0) saving the vector state.
  if (__builtin_cpu_supports("avx2")) {
    napi_value set2 = kernelSet(env, &kernels_avx2);
    set(env, set2, "linalg", linalgSet(env, &linalg_avx2));
    set(env, exports, "avx2", set2);
    napi_create_string_utf8(env, "avx2", NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, isas, count++, name);
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) {
    napi_value set512 = kernelSet(env, &kernels_avx512);
    set(env, set512, "linalg", linalgSet(env, &linalg_avx512));
    set(env, exports, "avx512", set512);
    napi_create_string_utf8(env, "avx512", NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, isas, count++, name);
  }
  set(env, exports, "isas", isas);
  return exports;
}
