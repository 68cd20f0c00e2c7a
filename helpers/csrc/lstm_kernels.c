/* Fused pointwise kernels of the batched LSTM trainer (helpers/lstm.py). helpers/ckernels.py
 * compiles this file once per machine; without a C compiler the trainer uses torch operations.
 *
 * Each kernel handles one time step of G configurations: gates (G, 4H, B), blocks i, f, g, o of
 * HB = H * B contiguous values each; states (G, H, B). Single-threaded, so results do not depend on
 * the number of cores; no branches in the inner loops, so the compiler vectorizes them. This file
 * is compiled twice: -DREAL=float -DSUFFIX=f32 -DEXP=fast_exp, and -DREAL=double -DSUFFIX=f64
 * -DEXP=exp (libm's, so that float64 tests compare the kernels' logic with torch.nn.LSTM to 1e-8). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define NAME(n) CAT(n, SUFFIX)

/* Cephes' expf: Cody-Waite range reduction and a degree-6 polynomial, within about 1 ulp of exp. */
static inline float fast_exp(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float fx = floorf(x * 1.44269504088896341f + 0.5f);
    x = x - fx * 0.693359375f - fx * -2.12194440e-4f;
    float z = x * x;
    float y = ((((1.9875691500e-4f * x + 1.3981999507e-3f) * x + 8.3334519073e-3f) * x
                + 4.1665795894e-2f) * x + 1.6666665459e-1f) * x + 5.0000001201e-1f;
    y = y * z + x + 1.0f;
    int32_t bits = ((int32_t)fx + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* EXP over an array (lets the tests check fast_exp's accuracy). */
void NAME(exp_array)(const REAL *restrict x, REAL *restrict y, int64_t n) {
    for (int64_t j = 0; j < n; j++) y[j] = EXP(x[j]);
}

static inline REAL NAME(sigmoid)(REAL x) { return (REAL)1 / ((REAL)1 + EXP(-x)); }
static inline REAL NAME(tanh)(REAL x) { return (REAL)2 / ((REAL)1 + EXP(-2 * x)) - (REAL)1; }

/* Forward of one step: pre-activations a become activations (in place); writes the cell c,
 * tanh(c) tc and the hidden state h. c_prev is the previous cell (zeros at the first step). */
void NAME(lstm_forward)(REAL *restrict a, const REAL *restrict c_prev, REAL *restrict c,
                        REAL *restrict tc, REAL *restrict h, int64_t G, int64_t HB) {
    for (int64_t g = 0; g < G; g++) {
        REAL *restrict ai = a + 4 * g * HB, *restrict af = ai + HB, *restrict ag = af + HB, *restrict ao = ag + HB;
        const REAL *restrict cp = c_prev + g * HB;
        REAL *restrict cg = c + g * HB, *restrict tcg = tc + g * HB, *restrict hg = h + g * HB;
        for (int64_t j = 0; j < HB; j++) {
            REAL i = NAME(sigmoid)(ai[j]), f = NAME(sigmoid)(af[j]);
            REAL gg = NAME(tanh)(ag[j]), o = NAME(sigmoid)(ao[j]);
            REAL cc = f * cp[j] + i * gg;
            REAL t = NAME(tanh)(cc);
            ai[j] = i; af[j] = f; ag[j] = gg; ao[j] = o;
            cg[j] = cc; tcg[j] = t; hg[j] = o * t;
        }
    }
}

/* Backward of one step. dh + dh2 is the gradient of h_t; dc holds, on entry, the gradient reaching
 * c_t from the next step (dc_{t+1} f_{t+1}; zeros at the last step) and, on exit, dc_t f_t.
 * Writes the gradients of the gate pre-activations into dgates. */
void NAME(lstm_backward)(const REAL *restrict act, const REAL *restrict c_prev, const REAL *restrict tc,
                         const REAL *restrict dh, const REAL *restrict dh2, REAL *restrict dc,
                         REAL *restrict dgates, int64_t G, int64_t HB) {
    for (int64_t g = 0; g < G; g++) {
        const REAL *restrict ai = act + 4 * g * HB;
        REAL *restrict dgi = dgates + 4 * g * HB;
        const REAL *restrict cp = c_prev + g * HB, *restrict tcg = tc + g * HB;
        const REAL *restrict dhg = dh + g * HB, *restrict dh2g = dh2 + g * HB;
        REAL *restrict dcg = dc + g * HB;
        for (int64_t j = 0; j < HB; j++) {
            REAL i = ai[j], f = ai[HB + j], gg = ai[2 * HB + j], o = ai[3 * HB + j], t = tcg[j];
            REAL d = dhg[j] + dh2g[j];
            REAL dcc = dcg[j] + d * (o * (1 - t * t));
            dgi[j] = dcc * (gg * (i * (1 - i)));
            dgi[HB + j] = dcc * (cp[j] * (f * (1 - f)));
            dgi[2 * HB + j] = dcc * (i * (1 - gg * gg));
            dgi[3 * HB + j] = d * (t * (o * (1 - o)));
            dcg[j] = dcc * f;
        }
    }
}

/* One Adam step with torch.optim.Adam's formulas for G configurations of P parameters each; row g
 * is skipped when active[g] is 0. step_size = lr / (1 - beta1^k), bc2_sqrt = sqrt(1 - beta2^k). */
void NAME(adam_step)(REAL *restrict theta, const REAL *restrict grad, REAL *restrict m, REAL *restrict v,
                     const REAL *restrict step_size, const REAL *restrict bc2_sqrt,
                     const uint8_t *restrict active, REAL beta1, REAL beta2, REAL eps, int64_t G, int64_t P) {
    for (int64_t g = 0; g < G; g++) {
        if (!active[g]) continue;
        REAL s = step_size[g], b = bc2_sqrt[g];
        REAL *restrict th = theta + g * P, *restrict mg = m + g * P, *restrict vg = v + g * P;
        const REAL *restrict gr = grad + g * P;
        for (int64_t p = 0; p < P; p++) {
            REAL mm = mg[p] + (1 - beta1) * (gr[p] - mg[p]);
            REAL vv = beta2 * vg[p] + (1 - beta2) * gr[p] * gr[p];
            mg[p] = mm;
            vg[p] = vv;
            th[p] -= s * (mm / (sqrt(vv) / b + eps));
        }
    }
}
