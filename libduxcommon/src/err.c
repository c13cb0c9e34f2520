/* err.c - names of the DUX_E* codes. */
#include <dux/err.h>

const char *dux_strerror(int err)
{
	switch (err) {
	case DUX_OK: return "success";
	case DUX_EINVAL: return "invalid input";
	case DUX_ENOMEM: return "out of memory";
	case DUX_ENOENT: return "not found";
	case DUX_EIO: return "input/output error";
	case DUX_EEXIST: return "already exists";
	case DUX_ECONFLICT: return "conflicts with the current state";
	case DUX_EUNAVAIL: return "temporarily unavailable";
	case DUX_ETIMEDOUT: return "timed out";
	case DUX_ERANGE: return "out of range";
	case DUX_EAUTH: return "authentication failed";
	case DUX_EPROTO: return "protocol error";
	case DUX_ERETRY: return "transient conflict";
	default: return "unknown error";
	}
}
