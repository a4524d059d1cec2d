/*
 * Shared definitions of the kernel module.
 *
 * The module is compiled freestanding for wasm32 and instantiated on the memory of
 * tfjs-backend-wasm (it imports that memory), so tensors are read and written in place. It owns
 * no static data: every buffer it uses (packing panels, scratch tiles, its shadow stack) lives in
 * a workspace the JavaScript side allocates with the backend's own malloc.
 */
#ifndef DINO_KERNELS_COMMON_H
#define DINO_KERNELS_COMMON_H

#include <wasm_simd128.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name))) 
#define INLINE static inline __attribute__((always_inline))

typedef float f32;
typedef int32_t i32;

INLINE int imin(int a, int b) { return a < b ? a : b; }
INLINE int imax(int a, int b) { return a > b ? a : b; }

#endif
