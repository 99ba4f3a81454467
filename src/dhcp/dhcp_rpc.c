/*
 * dhcp_rpc.c — the DHCP commands the region calls and the dhcpd /
 * dhcpd6 lines of UpdateServices, registered with the region layer by
 * dhcp_rpc_register().  The work is dhcp.c's (dhcp_rpc_configure,
 * dhcp_rpc_validate, dhcp_service_status); this file only maps the
 * command names and families onto it.
 */
#include <stddef.h>

#include "dhcp.h"
#include "rackd.h"
#include "region.h"
#include "rpc.h"

static void
cmd_configure_dhcp4(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	dhcp_rpc_configure(ctx, req, args, 4);
}

static void
cmd_configure_dhcp6(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	dhcp_rpc_configure(ctx, req, args, 6);
}

static void
cmd_validate_dhcp4(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	dhcp_rpc_validate(ctx, req, args, 4);
}

static void
cmd_validate_dhcp6(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	dhcp_rpc_validate(ctx, req, args, 6);
}

static const struct rpc_command dhcp_rpc_commands[] = {
	{ "ConfigureDHCPv4", cmd_configure_dhcp4,
	  "Kea instances (HA hot-standby per failover peer); empty = off" },
	{ "ConfigureDHCPv6", cmd_configure_dhcp6, "as ConfigureDHCPv4, kea-dhcp6" },
	{ "ValidateDHCPv4Config", cmd_validate_dhcp4,
	  "errors: isc-dhcpd snippets Kea cannot apply, and real errors" },
	{ "ValidateDHCPv6Config", cmd_validate_dhcp6, "as ValidateDHCPv4Config" },
};

static const char *
status_dhcpd(void *arg, char *info, size_t cap)
{
	return dhcp_service_status(arg, 4, info, cap);
}

static const char *
status_dhcpd6(void *arg, char *info, size_t cap)
{
	return dhcp_service_status(arg, 6, info, cap);
}

int
dhcp_rpc_register(struct rpc *rpc, struct dhcp *d, char **cause)
{
	if (rpc_register(rpc, dhcp_rpc_commands,
	    RACKD_NELEM(dhcp_rpc_commands), d, cause) == -1)
		return -1;
	rpc_set_service_status(rpc, "dhcpd", status_dhcpd, d);
	rpc_set_service_status(rpc, "dhcpd6", status_dhcpd6, d);
	return 0;
}
