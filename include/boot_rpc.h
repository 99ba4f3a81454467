/*
 * boot_rpc.h — the boot-image commands the region calls on the rack:
 * ListBootImages and GetPreseedData (the image store, bootres.h),
 * IsImportBootImagesRunning and ImportBootImages (the image sync,
 * imagesync.h).
 */
#ifndef BOOT_RPC_H
#define BOOT_RPC_H

struct bootres_store;
struct imagesync;
struct rpc;

/*
 * Register the four commands with rpc.  images and sync are borrowed
 * and must outlive rpc's dispatching; either may be NULL: without a
 * store ListBootImages fails (UNHANDLED) so the region skips this rack,
 * without a sync IsImportBootImagesRunning answers False and
 * ImportBootImages {} (logged).  -1 with *cause when a name is taken.
 */
int	boot_rpc_register(struct rpc *, struct bootres_store *images,
	    struct imagesync *sync, char **cause);

#endif
