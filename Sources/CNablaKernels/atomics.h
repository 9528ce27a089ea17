// Atomic operations on machine words and a spin-wait hint, for Nabla's worker pool
// (Sources/NablaTensor/Core/WorkerPool.swift). Header-only `static inline` wrappers around the
// compiler's `__atomic` builtins, so Swift code on every platform Nabla builds for (including macOS
// releases older than the Synchronization module) gets the same sequentially consistent operations.
#ifndef NABLA_ATOMICS_H
#define NABLA_ATOMICS_H

#include <stdint.h>

// Every operation is sequentially consistent: the pool's sleep/wake handshake (publish a job, then
// look for sleeping workers; register as sleeping, then look for a job) needs the store-load order.
static inline intptr_t nabla_atomic_load(const intptr_t *word) {
    return __atomic_load_n(word, __ATOMIC_SEQ_CST);
}

static inline void nabla_atomic_store(intptr_t *word, intptr_t value) {
    __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
}

// Adds `value` and returns the word's previous value.
static inline intptr_t nabla_atomic_fetch_add(intptr_t *word, intptr_t value) {
    return __atomic_fetch_add(word, value, __ATOMIC_SEQ_CST);
}

// Sets the word to `desired` if it holds `expected`; returns whether it did.
static inline int nabla_atomic_compare_exchange(intptr_t *word, intptr_t expected, intptr_t desired) {
    return __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

// Tells the core that the thread is spin-waiting (x86 `pause`, arm64 `yield`): saves power and
// leaves the pipeline to a sibling hyper-thread.
static inline void nabla_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
