/* The stb declarations image.c and plot.c use, with hidden visibility as stb_impl.c
 * compiles them (its symbols stay inside liblatent), and without stb's stdio writers,
 * which stb_impl.c leaves out. */
#ifndef LT_STB_DECLS_H
#define LT_STB_DECLS_H

#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif
#include "stb_image.h"
#include "stb_image_resize.h"
#include "stb_image_write.h"
#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
