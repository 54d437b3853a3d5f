/* json.h - a small streaming JSON writer (no DOM, no allocation). */
#ifndef LEAKTOP_JSON_H
#define LEAKTOP_JSON_H

#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *out;
	int depth;
	unsigned char need_comma[32];
};

void json_init(struct json *j, FILE *out);
void json_begin_object(struct json *j, const char *key);  /* key NULL inside arrays / at top */
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_str(struct json *j, const char *key, const char *value);  /* NULL value -> null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_i64_known(struct json *j, const char *key, int64_t v);  /* null if v < 0 (unknown) */
void json_double(struct json *j, const char *key, double v);        /* %.6g; null if not finite */
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);

#endif
