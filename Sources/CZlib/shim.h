// zlib from the system (Debian: zlib1g-dev). The init entry points are macros in zlib.h, which
// Swift cannot call, so they are wrapped here.
#include <stdint.h>
#include <zlib.h>

// crc32_combine takes the second length as z_off_t, a macro for a type that is 64 bits on every LP64
// platform (long on Linux, off_t on Darwin): lengths past 4 GiB combine correctly without the *64
// variants, which zlib.h declares only under _LARGEFILE64_SOURCE.
_Static_assert(sizeof(z_off_t) >= 8, "z_off_t must be 64 bits for crc32_combine beyond 4 GiB");

/// crc32_combine with explicit widths: the CRC-32 of A followed by B, from crc(A), crc(B) and B's length.
static inline uint32_t czlib_crc32_combine(uint32_t crc1, uint32_t crc2, int64_t length2) {
    return (uint32_t)crc32_combine(crc1, crc2, (z_off_t)length2);
}

/// deflateInit2 for raw deflate (no zlib or gzip wrapper): windowBits -15, memLevel 8.
static inline int czlib_deflate_init_raw(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2 that accepts a gzip stream only (windowBits 16 + 15).
static inline int czlib_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 16 + 15);
}

/// inflateInit2 for raw deflate (windowBits -15).
static inline int czlib_inflate_init_raw(z_streamp stream) {
    return inflateInit2(stream, -15);
}
