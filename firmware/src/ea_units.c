#include "ea_units.h"

uint64_t ea_isqrt(uint64_t v)
{
    uint64_t root;
    unsigned bits = 0;
    uint64_t x = v;
    if (v == 0u) {
        return 0u;
    }
    while (x != 0u) {
        bits++;
        x >>= 1;
    }
    /* 2^ceil(bits/2) ≥ sqrt(v); the iterates fall to the root (units.isqrt). */
    root = (uint64_t)1u << ((bits + 1u) / 2u);
    for (;;) {
        uint64_t better = (root + v / root) / 2u;
        if (better >= root) {
            return root;
        }
        root = better;
    }
}

/* One doubling step of floor(2^k·r / d) for r < d: the next bit and the new remainder,
 * without forming 2·r (which may not fit). */
static uint64_t twice_rem(uint64_t r, uint64_t d, uint64_t *bit)
{
    if (r >= d - r) {
        *bit = 1u;
        return r - (d - r);
    }
    *bit = 0u;
    return r + r;
}

uint64_t ea_round_sqrt_ratio(uint64_t n, uint64_t d)
{
    /* twice = isqrt(4·n // d) = floor(2·sqrt(n/d)); then halve it rounding up, except on an
     * exact tie, which goes to the even neighbour (units.round_sqrt_ratio). 4·n // d is
     * 4·(n / d) + floor(4·(n % d) / d), the second part by two doubling steps. */
    uint64_t q = n / d;
    uint64_t r = n % d;
    uint64_t b1;
    uint64_t b2;
    uint64_t quarter;
    uint64_t twice;
    uint64_t nearest;
    int tie;
    if (q >= ((uint64_t)1u << 62)) {
        /* the root exceeds 2^31: far above every wire field it is clipped to (u16) */
        return ea_isqrt(q) + 1u;
    }
    r = twice_rem(r, d, &b1);
    r = twice_rem(r, d, &b2);
    quarter = 4u * q + 2u * b1 + b2; /* 4·n // d */
    twice = ea_isqrt(quarter);
    nearest = (twice + 1u) / 2u;
    tie = (twice % 2u == 1u) && (twice * twice == quarter) && (r == 0u);
    return (tie && nearest % 2u == 1u) ? nearest - 1u : nearest;
}
