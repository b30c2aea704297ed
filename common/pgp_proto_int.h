/*
 * pgp_proto_int.h: helpers shared by the codec's and the control messages' source files (network
 * byte order, SQLSTATE syntax); not part of any contract: include pgp_proto.h for that.
 */
#ifndef PGP_PROTO_INT_H
#define PGP_PROTO_INT_H

#include <stdint.h>

static inline uint16_t pgp_load_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t pgp_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void pgp_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pgp_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* SQLSTATE: exactly five digits or upper-case letters, then the NUL (callers copy it into
 * char[6]). s must have 6 readable bytes or a NUL before. */
static inline int pgp_sqlstate_valid(const char *s)
{
	int i;

	for (i = 0; i < 5; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	}
	return s[5] == '\0';
}

#endif
