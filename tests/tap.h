/* tap.h - the few TAP helpers the C unit tests need. */
#ifndef LEAKTOP_TAP_H
#define LEAKTOP_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...) do { \
		int ok_ = !!(cond); \
		printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!ok_) { \
			tap_failed++; \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define TAP_EQ_U(got, want, ...) do { \
		unsigned long long g_ = (unsigned long long)(got), w_ = (unsigned long long)(want); \
		TAP_OK(g_ == w_, __VA_ARGS__); \
		if (g_ != w_) printf("#   got %llu, want %llu\n", g_, w_); \
	} while (0)

#define TAP_EQ_S(got, want, ...) do { \
		const char *g_ = (got), *w_ = (want); \
		int same_ = g_ && w_ && strcmp(g_, w_) == 0; \
		TAP_OK(same_, __VA_ARGS__); \
		if (!same_) printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

#define TAP_SKIP(reason, ...) do { \
		printf("ok %d - ", ++tap_n); \
		printf(__VA_ARGS__); \
		printf(" # SKIP %s\n", reason); \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return 0;
}

#endif
