/*
 * nodeepbind.so: preloaded into Debian's php by scripts/test --asan, in front of the ASan
 * runtime. PHP loads extensions with dlopen(..., RTLD_DEEPBIND), which the sanitizer runtime
 * refuses (https://github.com/google/sanitizers/issues/611); without the flag, symbols of an
 * extension resolve globally first, which changes nothing for pdo, pdo_pgsql and pgpool.
 * Built by scripts/test: gcc -shared -fPIC -o nodeepbind.so nodeepbind.c -ldl
 */
#include <dlfcn.h>

void *dlopen(const char *file, int mode)
{
	static void *(*next)(const char *, int);

	if (!next)
		next = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
	return next(file, mode & ~RTLD_DEEPBIND);
}
