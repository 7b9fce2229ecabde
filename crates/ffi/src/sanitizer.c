/*
 * Telling a C program's sanitizers what the (uninstrumented) library does.
 *
 * libvipt is Rust, built without sanitizers; a C program that links it may be
 * built with ThreadSanitizer or AddressSanitizer. The runtimes' interface
 * functions are referenced weakly: in a program without the sanitizer they
 * are NULL and these wrappers do nothing, so one libvipt serves every build.
 *
 * ThreadSanitizer: the library synchronises its threads with futexes and
 * atomics it does not see, while the memcpy, memset, malloc and free that the
 * library calls are intercepted and recorded. Without help it reports races
 * between the library's own accesses, ordered by synchronisation it cannot
 * see. While a thread runs inside the library, its accesses are ignored
 * (__tsan_ignore_thread_begin/end); the C code of a strategy callback runs
 * with them recorded again, so races in a patch's own code are still found.
 *
 * AddressSanitizer: a strategy callback whose C frames are discarded (it
 * ignored -ECANCELED; see kcpu.rs) leaves its stack's redzones poisoned, so
 * the stack is unpoisoned before it is reused.
 */
#include <stddef.h>

void __tsan_ignore_thread_begin(void) __attribute__((weak));
void __tsan_ignore_thread_end(void) __attribute__((weak));
void __asan_unpoison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));

void vipt__tsan_ignore_begin(void)
{
	if (__tsan_ignore_thread_begin)
		__tsan_ignore_thread_begin();
}

void vipt__tsan_ignore_end(void)
{
	if (__tsan_ignore_thread_end)
		__tsan_ignore_thread_end();
}

void vipt__asan_unpoison(void *addr, size_t size)
{
	if (__asan_unpoison_memory_region)
		__asan_unpoison_memory_region(addr, size);
}
