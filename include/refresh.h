/*
 * refresh.h — telling the region what the rack is: MAAS 3.4's rack
 * "refresh" (shared/spec/maas-rack-refresh.md).  After the first
 * registration and whenever the interfaces change, the refresh service
 * calls RequestRackRefresh(system_id) through the region link and posts
 * the machine-resources document (resources.h) to
 * <maas_url>/metadata/2012-03-01/ with OAuth 1.0 PLAINTEXT signatures.
 *
 * The pure half (the OAuth header and the multipart body) is in
 * metadata.c; the service (timers, retries, clock skew) in refresh.c.
 */
#ifndef REFRESH_H
#define REFRESH_H

#include <stddef.h>
#include <stdint.h>

#endif
