/* stb_image (Debian's libstb-dev), PNG only, for tests that decode the PNGs they write
 * so their pixels can be checked; HAVE_STB_IMAGE is defined when it is there. Compiles
 * stb_image's implementation: include it in one translation unit only. */
#ifndef LT_TESTS_STB_PNG_H
#define LT_TESTS_STB_PNG_H

#if defined(__has_include)
#if __has_include(<stb/stb_image.h>)
#define HAVE_STB_IMAGE 1
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_FAILURE_USERMSG
#include <assert.h>
#include <limits.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop
#endif
#endif

#endif /* LT_TESTS_STB_PNG_H */
