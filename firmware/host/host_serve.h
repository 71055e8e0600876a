/* The host build's endpoints (simulator/serve/realtime.py's PtyEndpoint and TcpEndpoint in C):
 * a pseudo-terminal whose slave path a host opens as a serial port, or a listening loopback
 * TCP socket for pyserial's socket://, one host connection at a time. Host code: POSIX. */
#ifndef HOST_SERVE_H
#define HOST_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>

/* Device output waiting for a host that does not read is capped here (a UART would overrun),
 * as realtime.MAX_PENDING_BYTES. */
#define HOST_MAX_PENDING 65536u

typedef struct {
    int is_tcp;
    int fd;       /* pty master, or the connected TCP host (-1: none) */
    int slave;    /* pty slave, kept open so a host may close and reopen the path */
    int listener; /* TCP listener (-1: none) */
    char url[128];
    uint8_t pending[HOST_MAX_PENDING];
    size_t pending_len;
    unsigned long lost_bytes; /* device output dropped because the host did not read */
} host_endpoint;

/* Open a pty; 0 on success, else -1 with a message in err. */
int host_open_pty(host_endpoint *ep, char *err, size_t err_size);
/* Listen on "[HOST:]PORT" (HOST defaults to 127.0.0.1; PORT 0 picks a free one). */
int host_open_tcp(host_endpoint *ep, const char *where, char *err, size_t err_size);

/* Add the descriptors to wait on to the sets; returns the highest one (or -1). */
int host_fds(const host_endpoint *ep, fd_set *readable, fd_set *writable);
/* Handle readiness: accept a host, write pending output, read what the host sent into buf.
 * Returns the bytes read (0: none). */
size_t host_on_ready(host_endpoint *ep, const fd_set *readable, const fd_set *writable,
                     uint8_t *buf, size_t size);
/* Queue device output and try to write it at once. */
void host_send(host_endpoint *ep, const uint8_t *data, size_t len);
void host_close(host_endpoint *ep);

#endif
