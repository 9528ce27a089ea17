// The copy-in of the single-channel correlation's grid (Sources/NablaNN/Ops/RowReuseCorrelation.swift)
// on its own: LeNet 1->6's input gradient copies the upstream gradient, 128 samples x 6 channels x 28
// rows of 28 floats (2.4 MB), row by row into groups of `samples` samples side by side, and this program times
// that copy without the tiles (best of 2,000 calls, one thread). See docs/speed.md, "The copy into the
// grid". Build and run: cc -O2 -march=native bench/copy_rows.c -o /tmp/copy_rows && /tmp/copy_rows
// Arguments (optional): samples side by side (3, what the driver picks for LeNet), slot stride in floats
// (30 = 28 + the 2 padding columns two samples share), and 1 to copy the same 3 samples every time (a
// source that stays in L2) instead of walking the batch.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 128, C = 6, H = 28, W = 28 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int samples = argc > 1 ? atoi(argv[1]) : 3, stride = argc > 2 ? atoi(argv[2]) : 30;
    int fixed = argc > 3 ? atoi(argv[3]) : 0;
    if (samples < 1 || samples > N || stride < W) {
        fprintf(stderr, "copy_rows: want 1..%d samples and a stride of at least %d\n", N, W);
        return 2;
    }
    int pitch = 2 + samples * stride, plane = (H + 4) * pitch;   // RowReuseGrid: pW + samples·(W + pW)
    size_t count = (size_t)N * C * H * W;
    float *source = aligned_alloc(64, count * sizeof(float));
    float *grid = aligned_alloc(64, ((size_t)C * plane * sizeof(float) + 63) / 64 * 64);
    if (!source || !grid) { fprintf(stderr, "copy_rows: out of memory\n"); return 1; }
    for (size_t i = 0; i < count; i++) source[i] = (float)(i % 1000) * 1e-3f;
    memset(grid, 0, (size_t)C * plane * sizeof(float));
    double best = 1e9;
    for (int call = 0; call < 2000; call++) {
        double start = now();
        for (int first = 0; first < N; first += samples) {
            int group = N - first < samples ? N - first : samples;
            for (int s = 0; s < group; s++) {
                const float *sample = source + (size_t)(fixed ? s % 3 : first + s) * C * H * W;
                for (int c = 0; c < C; c++)
                    for (int h = 0; h < H; h++)
                        memcpy(grid + c * plane + (h + 2) * pitch + 2 + s * stride, sample + (c * H + h) * W,
                               W * sizeof(float));
            }
        }
        double seconds = now() - start;
        if (seconds < best) best = seconds;
    }
    printf("samples=%d stride=%d source=%s: %.1f us per call, %.1f GB/s\n", samples, stride,
           fixed ? "fixed" : "batch", best * 1e6, count * sizeof(float) / best / 1e9);
    free(source);
    free(grid);
    return 0;
}
