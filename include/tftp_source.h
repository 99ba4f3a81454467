/*
 * tftp_source.h — where the TFTP server's bytes come from.
 *
 * A source opens a request name into a reader; a reader delivers the
 * file in pieces, asynchronously, so no file-system call ever blocks the
 * event loop.  The server knows only these two interfaces: the static
 * tree under tftp_root is one source (tftp_fs_*, below); generated boot
 * configs (GetBootConfig answers) can be another, plugged in later.
 *
 * Callbacks are always delivered from the event loop and never from
 * inside the call that started the operation.
 */
#ifndef TFTP_SOURCE_H
#define TFTP_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct tftp_reader;

/*
 * A read finished: data (n bytes, owned by the callee from now on; free()
 * it) or error != NULL.  n shorter than asked means end of file.
 */
typedef void (*tftp_read_cb)(void *arg, uint8_t *data, size_t n,
	    const char *error);

struct tftp_reader_ops {
	/* Read up to len bytes at off; one read at a time per reader. */
	void	(*read)(struct tftp_reader *, uint64_t off, size_t len,
		    tftp_read_cb, void *arg);
	/* Cancel a pending read (its callback is not called) and free. */
	void	(*close)(struct tftp_reader *);
};

struct tftp_reader {
	const struct tftp_reader_ops *ops;
	int64_t		 size;		/* bytes, or -1 when not known */
};

/* What the source is told about a request. */
struct tftp_open_req {
	const char		*path;		/* normalised, relative */
	const char		*raw;		/* the name as the client sent it */
	const struct sockaddr	*client;	/* who asked */
	const struct sockaddr	*local;		/* the address it was sent to */
};

/*
 * An open finished: reader (owned by the callee now) or, when reader is
 * NULL, a TFTP error code (tftp_packet.h) and message for the client.
 */
typedef void (*tftp_open_cb)(void *arg, struct tftp_reader *,
	    int errcode, const char *msg);

struct tftp_source {
	/* Start opening; returns a token valid until the callback runs or
	 * cancel is called. */
	void	*(*open)(struct tftp_source *, const struct tftp_open_req *,
		    tftp_open_cb, void *arg);
	/* Forget a pending open: its callback is not called. */
	void	 (*cancel)(struct tftp_source *, void *token);
};

/*
 * Normalise a request name as MAAS does before looking it up: '\\'
 * becomes '/', leading '/'s and empty or "." segments go, a ".."
 * segment is refused (-1 with *cause, allocated: the caller answers
 * ERROR 2).  out gets the relative path ("" for the root itself).
 */
int	tftp_path_normalise(const char *in, char *out, size_t cap,
	    char **cause);

/*
 * The static tree under root, read by a small pool of threads (nthreads)
 * that hand results back to base's loop through an eventfd.  Symlinks
 * are followed wherever they point (as MAAS does: the bootloaders are
 * links to /usr/lib/...).  Returns NULL with *cause when the pool cannot
 * start.  Free it after every reader and open it gave out is closed.
 */
struct tftp_fs;
struct tftp_fs *tftp_fs_new(struct event_base *, const char *root,
	    int nthreads, char **cause);
struct tftp_source *tftp_fs_source(struct tftp_fs *);
void	tftp_fs_free(struct tftp_fs *);

#endif
