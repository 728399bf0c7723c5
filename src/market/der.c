/* SPDX-License-Identifier: MIT */
/* The DER agent: PV output, its forecast, and its bid (paper 001, eq. 1). */
#include <math.h>
#include <string.h>

#include "market.h"

double mk_pv_shape(double hour)
{
    /* Sunrise 06:00, sunset 19:00, peak at 12:30: a sine lobe sharpened a
     * little, close to a clear summer day's PV curve. */
    const double rise = 6.0, set = 19.0;
    if (hour <= rise || hour >= set) {
        return 0.0;
    }
    return pow(sin(M_PI * (hour - rise) / (set - rise)), 1.3);
}

/* splitmix64: small, good, and the same on every platform. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(next(s) >> 11) / 9007199254740992.0;
}

void mk_weather_init(struct mk_weather *w, uint64_t seed, double variability)
{
    uint64_t s = seed;
    /* Cloudiness c in [0, 1] drifts as a mean-reverting random walk; the
     * PV sees 1 - variability * c. */
    double c = 0.3 * uniform(&s);
    for (int m = 0; m < 1440; m++) {
        double u = uniform(&s) + uniform(&s) + uniform(&s) - 1.5; /* ~N(0,.5) */
        c += 0.06 * u - 0.01 * (c - 0.25);
        c = c < 0 ? 0 : c > 1 ? 1 : c;
        double f = 1.0 - variability * c;
        w->cloud[m] = (float)(f < 0.2 ? 0.2 : f > 1 ? 1 : f);
    }
}

double mk_der_available(const struct mk_der *d, int minute)
{
    if (minute < 0 || minute >= 1440) {
        return 0.0;
    }
    /* The middle of the minute. */
    return d->kw * mk_pv_shape((minute + 0.5) / 60.0) *
           d->weather.cloud[minute];
}

double mk_der_forecast(const struct mk_der *d, int start, int len, int now)
{
    if (len <= 0) {
        return 0.0;
    }
    double cloud = now >= 0 && now < 1440 ? d->weather.cloud[now] : 1.0;
    double sum = 0;
    for (int m = start; m < start + len; m++) {
        sum += mk_pv_shape((m + 0.5) / 60.0);
    }
    return d->kw * cloud * sum / len;
}

void mk_der_bid(const struct mk_der *d, double forecast_kw,
                double price_forecast, struct mk_entry *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->der, sizeof out->der, "%s", d->id);
    /* Quantities in watts: bids are written with six decimals of kW, and
     * whole watts keep the records short and exact. */
    out->kw = round(forecast_kw * 1000.0) / 1000.0;
    double p = price_forecast * (1.0 + d->rf / 100.0);
    out->price = round((p < d->cap ? p : d->cap) * 100.0) / 100.0;
    out->cap = d->cap;
}
