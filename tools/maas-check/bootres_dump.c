/*
 * bootres_dump.c — rackd's ListBootImages rows for a tree (bootres_scan),
 * one JSON object a line, with supported_subarches when maas.meta gives
 * it (MAAS's list_boot_images dict).  Used by check-boot-images.sh.
 */
#include <stdio.h>
#include <jansson.h>
#include "bootres.h"
int main(int argc, char **argv) {
	struct bootres_list l; char *cause = NULL; size_t i;
	if (bootres_scan(argv[1], &l, &cause) == -1) { fprintf(stderr, "%s\n", cause); return 1; }
	for (i = 0; i < l.n; i++) {
		struct bootres_image *im = &l.v[i];
		json_t *j = json_pack("{ssssssssssssssss}", "osystem", im->osystem, "architecture", im->architecture,
		    "subarchitecture", im->subarchitecture, "release", im->release, "label", im->label,
		    "purpose", im->purpose, "xinstall_type", im->xinstall_type, "xinstall_path", im->xinstall_path);
		if (im->supported_subarches) json_object_set_new(j, "supported_subarches", json_string(im->supported_subarches));
		char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT); puts(s); free(s); json_decref(j);
	}
	return 0;
}
