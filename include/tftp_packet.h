/*
 * tftp_packet.h — pure TFTP wire codec (RFC 1350 with the option
 * extension RFC 2347 and the blksize, timeout and tsize options of
 * RFC 2348/2349), as a MAAS 3.4 rack's engine (python-tx-tftp) accepts
 * them.  No I/O, no allocation: parsers fill caller structs and name what
 * was wrong; builders write into caller buffers.
 */
#ifndef TFTP_PACKET_H
#define TFTP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tftp_opcode {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,
};

/* Error codes (RFC 1350 §5, RFC 2347). */
enum tftp_errcode {
	TFTP_ENOTDEFINED = 0,	/* "not defined, see message" */
	TFTP_ENOTFOUND = 1,
	TFTP_EACCESS = 2,
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,	/* illegal operation (also: mode unsupported) */
	TFTP_EBADID = 5,	/* unknown transfer ID */
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8,	/* option negotiation refused */
};

#define TFTP_BLKSIZE_DEFAULT	512
#define TFTP_BLKSIZE_MIN	8
#define TFTP_BLKSIZE_MAX	65464	/* RFC 2348 */
#define TFTP_BLKSIZE_CAP	8192	/* tx-tftp's MAX_BLOCK_SIZE */
#define TFTP_TIMEOUT_MIN	1
#define TFTP_TIMEOUT_MAX	255
#define TFTP_NAME_MAX		1024	/* longest file name accepted */
#define TFTP_ERRMSG_MAX		255	/* longest error text we send */

enum tftp_mode {
	TFTP_MODE_OCTET,
	TFTP_MODE_NETASCII,
	TFTP_MODE_OTHER,	/* anything else ("mail", junk) */
};

/* A parsed RRQ or WRQ.  Option fields are 0/false when the option was
 * absent or dropped (an unusable value drops the option, as tx-tftp). */
struct tftp_request {
	enum tftp_opcode opcode;		/* TFTP_RRQ or TFTP_WRQ */
	char		 filename[TFTP_NAME_MAX + 1];
	enum tftp_mode	 mode;
	int		 blksize;		/* negotiated (capped) size */
	int		 timeout;		/* seconds */
	bool		 tsize;			/* tsize asked */
	uint64_t	 tsize_value;		/* the client's value */
};

/* What a client sends during a transfer. */
struct tftp_reply {
	enum tftp_opcode opcode;		/* TFTP_ACK or TFTP_ERROR */
	uint16_t	 block;			/* ACK: block number */
	uint16_t	 errcode;		/* ERROR: code */
	char		 errmsg[TFTP_ERRMSG_MAX + 1];	/* ERROR: text (cut) */
};

/* Options the server acknowledges, in an OACK. */
struct tftp_oack {
	int		 blksize;		/* 0: not acknowledged */
	int		 timeout;		/* 0: not acknowledged */
	bool		 tsize;
	uint64_t	 tsize_value;
};

/*
 * Parse a request datagram.  0 on success; -1 with *cause (allocated,
 * caller frees) naming the fault, e.g. "RRQ: filename not
 * NUL-terminated".  A request in an unsupported mode parses (mode set);
 * the server decides.  Unknown options are dropped silently.
 */
int	tftp_parse_request(const uint8_t *, size_t, struct tftp_request *,
	    char **cause);

/*
 * Parse a client datagram during a transfer (ACK or ERROR).  0 on
 * success; -1 with *cause (allocated) for anything else.
 */
int	tftp_parse_reply(const uint8_t *, size_t, struct tftp_reply *,
	    char **cause);

/* True when the request carried an option to acknowledge. */
bool	tftp_request_has_options(const struct tftp_request *);

/*
 * Builders: write into buf (cap bytes) and return the length, or 0 when
 * cap is too small.  The caller owns buf.
 */
size_t	tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_oack *);
size_t	tftp_build_error(uint8_t *buf, size_t cap, uint16_t code,
	    const char *msg);
/* DATA header (4 bytes); the payload follows it in the same buffer. */
size_t	tftp_build_data_header(uint8_t *buf, size_t cap, uint16_t block);
size_t	tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
/* An RRQ (for clients and tests); opts may be NULL. */
size_t	tftp_build_rrq(uint8_t *buf, size_t cap, const char *filename,
	    const char *mode, const struct tftp_oack *opts);

/* "octet", "netascii", "other". */
const char *tftp_mode_name(enum tftp_mode);
/* "RRQ", "DATA", ... or "opcode N" (static buffer not used: unknown
 * opcodes give "unknown"). */
const char *tftp_opcode_name(int opcode);

#endif
