/*
 * fileio.h — small file helpers shared by every module that keeps state
 * on disk (config, discovery's saved copy, maas_id, Kea configs, the
 * lease-hook wrapper).
 */
#ifndef FILEIO_H
#define FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace path with len bytes of data, atomically: a temporary file in
 * the same directory (mkstemp), the mode set whatever the umask, fsync,
 * then rename(2), so a reader or a restart sees the old file or the new
 * one, never a part.  The directory must exist.  0, or -1 with *cause
 * (caller frees) naming the file; the temporary file is removed.
 */
int	file_write_atomic(const char *path, const void *data, size_t len,
	    mode_t mode, char **cause);

#endif
