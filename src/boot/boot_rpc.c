/*
 * boot_rpc.c — the boot-image commands the region calls (boot_rpc.h),
 * answered as MAAS 3.4's rack answers them (spec §5.4).  Two tables, as
 * the two objects behind them live apart: the image store exists before
 * any region (boot serving must not wait for the secret), the sync only
 * once the region side runs.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "bootres.h"
#include "boot_rpc.h"
#include "imagesync.h"
#include "log.h"
#include "rackd.h"
#include "region.h"
#include "rpc.h"

/*
 * The image store answers (bootres.h).  Without one, fail the call so
 * the region skips this rack: an empty (successful) list would make
 * every commissioning fail the region's image intersection (spec §1.6,
 * pitfall 1).
 */
static void
cmd_list_boot_images(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct amp_box *ans;
	char *cause = NULL;

	if (ctx == NULL) {
		region_request_error(req, "UNHANDLED",
		    "rackd has no image store; ask another rack controller");
		return;
	}
	ans = amp_box_new();
	if (bootres_store_answer_list(ctx, ans, &cause) == -1) {
		log_debug("rpc: ListBootImages from %s declined: %s",
		    region_request_loop(req), cause);
		region_request_error(req, "UNHANDLED", cause);
		free(cause);
		amp_box_free(ans);
		return;
	}
	region_request_answer(req, ans);
}

/* MAAS answers NotImplementedError for every OS but Windows. */
static void
cmd_get_preseed_data(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	region_request_error(req, "NotImplementedError",
	    "no preseed data from this rack controller");
}

static void
cmd_is_import_running(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct amp_box *ans = amp_box_new();

	amp_box_put_bool(ans, "running", ctx != NULL && imagesync_running(ctx));
	region_request_answer(req, ans);
}

/* MAAS answers {} at once and imports in the background. */
static void
cmd_import_boot_images(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	/* args belong to req: the sync copies them (it starts from the
	 * loop) before the answer frees them. */
	if (ctx != NULL)
		imagesync_request(ctx, "ImportBootImages from the region",
		    args);
	else
		log_info("rpc: ImportBootImages from %s: image sync not "
		    "running", region_request_loop(req));
	region_request_answer(req, NULL);
}

static const struct rpc_command boot_rpc_store_commands[] = {
	{ "ListBootImages", cmd_list_boot_images,
	  "rows of tftp_root; error while it has no xinstall image" },
	{ "GetPreseedData", cmd_get_preseed_data,
	  "NotImplementedError, as MAAS for non-Windows OSes" },
};

static const struct rpc_command boot_rpc_sync_commands[] = {
	{ "IsImportBootImagesRunning", cmd_is_import_running,
	  "running: true while an image sync runs" },
	{ "ImportBootImages", cmd_import_boot_images,
	  "{} at once; the sync runs in the background (one more queued)" },
};

int
boot_rpc_register(struct rpc *rpc, struct bootres_store *images,
    struct imagesync *sync, char **cause)
{
	if (rpc_register(rpc, boot_rpc_store_commands,
	    RACKD_NELEM(boot_rpc_store_commands), images, cause) == -1)
		return -1;
	/* The store's table stays: a failure here is a start-up fatal. */
	return rpc_register(rpc, boot_rpc_sync_commands,
	    RACKD_NELEM(boot_rpc_sync_commands), sync, cause);
}
