/* err.h - the one error vocabulary of libduxcommon.
 *
 * Fallible functions return int: 0 on success or a negative DUX_E* code.
 * Out-parameters (ret_*) are written only on success. Library code never logs;
 * the caller decides what an error means and logs it once. */
#ifndef DUX_ERR_H
#define DUX_ERR_H

#define DUX_MUST_USE __attribute__((warn_unused_result))

enum {
	DUX_OK = 0,
	DUX_EINVAL = -1,    /* bad argument or input */
	DUX_ENOMEM = -2,    /* allocation failed */
	DUX_ENOENT = -3,    /* no such thing */
	DUX_EIO = -4,       /* I/O or system call failure */
	DUX_EEXIST = -5,    /* already exists */
	DUX_ECONFLICT = -6, /* state does not allow it */
	DUX_EUNAVAIL = -7,  /* dependency (database, peer) unavailable: retry later */
	DUX_ETIMEDOUT = -8, /* deadline passed */
	DUX_ERANGE = -9,    /* value out of range or too large */
	DUX_EAUTH = -10,    /* signature, token or credential refused */
	DUX_EPROTO = -11,   /* peer answered something malformed */
	DUX_ERETRY = -12,   /* transient conflict (serialization failure): run it again */
};

/* Returns a static English name for a DUX_E* code; never NULL. */
const char *dux_strerror(int err);

#endif
