// The parts of wasmtime's C API that the adapter calls itself (cshim.go,
// memory.go), declared by us: declarations only, no code. libwasmtime is
// linked in by wasmtime-go's cgo flags, whose headers are not on this
// package's include path. TestDeclarationsMatchWasmtime compiles this file
// after wasmtime's own headers (those of the wasmtime-go in go.mod), so a
// declaration that differs from wasmtime's fails that test.

#ifndef BUBBLEWASM_CSHIM_H
#define BUBBLEWASM_CSHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;
typedef struct wasi_config_t wasi_config_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_error wasmtime_error_t;

wasmtime_error_t *wasmtime_error_new(const char *);
void wasmtime_error_delete(wasmtime_error_t *);

// WASI: a configuration the adapter owns, given to a store.
wasi_config_t *wasi_config_new(void);
void wasi_config_delete(wasi_config_t *);
bool wasi_config_set_argv(wasi_config_t *, size_t, const char *argv[]);
bool wasi_config_set_env(wasi_config_t *, size_t, const char *names[], const char *values[]);
void wasi_config_set_stdout_custom(wasi_config_t *, ptrdiff_t (*)(void *, const unsigned char *, size_t),
                                   void *, void (*)(void *));
void wasi_config_set_stderr_custom(wasi_config_t *, ptrdiff_t (*)(void *, const unsigned char *, size_t),
                                   void *, void (*)(void *));
wasmtime_error_t *wasmtime_context_set_wasi(wasmtime_context_t *, wasi_config_t *);

// Epoch deadlines: a callback at every tick.
typedef uint8_t wasmtime_update_deadline_kind_t;
#define WASMTIME_UPDATE_DEADLINE_CONTINUE 0
void wasmtime_store_epoch_deadline_callback(
    wasmtime_store_t *,
    wasmtime_error_t *(*)(wasmtime_context_t *, void *, uint64_t *, wasmtime_update_deadline_kind_t *),
    void *, void (*)(void *));

// Linear memories made by the adapter. C allows a struct to be defined only
// once, so when this file is checked after wasmtime's headers (which define
// these two too) BW_CHECK names ours bw_check_*, and the test compares them
// with wasmtime's field by field.
#ifdef BW_CHECK
#define BW_STRUCT(name) bw_check_##name
#else
#define BW_STRUCT(name) name
#endif

typedef uint8_t *(*wasmtime_memory_get_callback_t)(void *env, size_t *byte_size, size_t *byte_capacity);
typedef wasmtime_error_t *(*wasmtime_memory_grow_callback_t)(void *env, size_t new_size);

typedef struct BW_STRUCT(wasmtime_linear_memory) {
	void *env;
	wasmtime_memory_get_callback_t get_memory;
	wasmtime_memory_grow_callback_t grow_memory;
	void (*finalizer)(void *);
} BW_STRUCT(wasmtime_linear_memory_t);

typedef wasmtime_error_t *(*wasmtime_new_memory_callback_t)(
    void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum,
    size_t reserved_size_in_bytes, size_t guard_size_in_bytes,
    wasmtime_linear_memory_t *memory_ret);

typedef struct BW_STRUCT(wasmtime_memory_creator) {
	void *env;
	wasmtime_new_memory_callback_t new_memory;
	void (*finalizer)(void *);
} BW_STRUCT(wasmtime_memory_creator_t);

void wasmtime_config_host_memory_creator_set(wasm_config_t *, wasmtime_memory_creator_t *);

#undef BW_STRUCT

#endif
