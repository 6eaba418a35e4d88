/*
 * The nesting pre-scan for JSON bodies (limits.max_json_depth): jansson
 * has no depth limit of its own and recurses, so a body of a million
 * brackets is refused here, in one pass over the bytes, before parsing.
 */
#include <event2/buffer.h>

#include "feed.h"

bool
json_too_deep(struct evbuffer *buf, int max)
{
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v;
	bool in_string = false, escaped = false;
	int depth = 0;

	evbuffer_ptr_set(buf, &pos, 0, EVBUFFER_PTR_SET);
	while (evbuffer_peek(buf, -1, &pos, &v, 1) > 0 && v.iov_len > 0) {
		const unsigned char *p = v.iov_base;
		for (size_t i = 0; i < v.iov_len; i++) {
			if (escaped)
				escaped = false;
			else if (in_string) {
				in_string = p[i] != '"';
				escaped = p[i] == '\\';
			} else if (p[i] == '"')
				in_string = true;
			else if (p[i] == '[' || p[i] == '{') {
				if (++depth > max)
					return true;
			} else if (p[i] == ']' || p[i] == '}')
				depth--;
		}
		if (evbuffer_ptr_set(buf, &pos, v.iov_len, EVBUFFER_PTR_ADD))
			break;
	}
	return false;
}
