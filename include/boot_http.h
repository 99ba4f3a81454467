/*
 * boot_http.h — the boot backend behind httpd's boot paths (5248 paths
 * other than /images/ and /MAAS/, 5249 /boot/): a name a boot method
 * matches (ipxe.cfg-<mac>, pxelinux.cfg/01-<mac>, grub/grub.cfg-<mac>...)
 * is answered from GetBootConfig rendered for HTTP; anything else is
 * declined so httpd serves the plain file (maas-rack-boot.md §2.2, §3).
 *
 *   OK         200 text/plain, the rendered config
 *   NOT_FOUND  404 (BootConfigNoResponse, no region): firmware moves on
 *   ERROR      500 with the cause
 */
#ifndef BOOT_HTTP_H
#define BOOT_HTTP_H

struct boot_backend;
struct httpd;

struct boot_http;

/* Install the handler on h.  Both borrowed: free this before either. */
struct boot_http *boot_http_new(struct httpd *, struct boot_backend *);
/*
 * Cancel the configs still in flight (their clients get 503), remove
 * the handler and free.  NULL ok.
 */
void	boot_http_free(struct boot_http *);

/*
 * httpd's boot events (an httpd_event_fn; arg: the struct region_reports
 * shared with the boot backend): NODE_HTTP_REQUEST or LOADING_EPHEMERAL
 * as SendEventIPAddress, in order per client IP, the type registered
 * first, kept through a region outage (region_report.h).  Another type
 * is logged and dropped.
 */
void	boot_http_event(void *reports, const char *type, const char *ip,
	    const char *desc);

#endif
