/* The pty and TCP endpoints of the host build (see host_serve.h). */
#define _XOPEN_SOURCE 700

#include "host_serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

static void init(host_endpoint *ep)
{
    memset(ep->url, 0, sizeof ep->url);
    ep->is_tcp = 0;
    ep->fd = -1;
    ep->slave = -1;
    ep->listener = -1;
    ep->pending_len = 0;
    ep->lost_bytes = 0;
}

static int nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* cfmakeraw, spelled out (it is not POSIX): no echo, no line editing, 8 bits, no signals. */
static int make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        return -1;
    }
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= (tcflag_t)CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSANOW, &t);
}

int host_open_pty(host_endpoint *ep, char *err, size_t err_size)
{
    const char *path;
    init(ep);
    ep->fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (ep->fd < 0 || grantpt(ep->fd) != 0 || unlockpt(ep->fd) != 0) {
        snprintf(err, err_size, "cannot open a pty: %s", strerror(errno));
        return -1;
    }
    path = ptsname(ep->fd);
    if (path == NULL || strlen(path) >= sizeof ep->url) {
        snprintf(err, err_size, "cannot name the pty: %s", strerror(errno));
        return -1;
    }
    strcpy(ep->url, path);
    ep->slave = open(path, O_RDWR | O_NOCTTY);
    if (ep->slave < 0 || make_raw(ep->slave) != 0 || nonblocking(ep->fd) != 0) {
        snprintf(err, err_size, "cannot set up the pty %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int is_loopback(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127u;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
        static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return memcmp(in6->sin6_addr.s6_addr, one, 16) == 0;
    }
    return 0;
}

int host_open_tcp(host_endpoint *ep, const char *where, char *err, size_t err_size)
{
    char host[64] = "127.0.0.1";
    char port[16];
    char shown[INET6_ADDRSTRLEN];
    const char *colon = strrchr(where, ':');
    const char *digits = colon != NULL ? colon + 1 : where;
    struct addrinfo hints;
    struct addrinfo *found = NULL;
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    unsigned bound_port;
    int yes = 1;
    size_t i;
    init(ep);
    ep->is_tcp = 1;
    if (strlen(digits) == 0 || strlen(digits) >= sizeof port ||
        strspn(digits, "0123456789") != strlen(digits) || atol(digits) > 65535) {
        snprintf(err, err_size, "--tcp %s: expected [HOST:]PORT with PORT 0..65535", where);
        return -1;
    }
    strcpy(port, digits);
    if (colon != NULL && colon != where) {
        size_t len = (size_t)(colon - where);
        if (where[0] == '[' && len >= 2 && where[len - 1] == ']') {
            where++;
            len -= 2;
        }
        if (len >= sizeof host) {
            snprintf(err, err_size, "--tcp: host name too long");
            return -1;
        }
        memcpy(host, where, len);
        host[len] = '\0';
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    i = (size_t)getaddrinfo(host, port, &hints, &found);
    if (i != 0 || found == NULL) {
        snprintf(err, err_size, "--tcp %s:%s: %s", host, port, gai_strerror((int)i));
        return -1;
    }
    ep->listener = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
    if (ep->listener < 0 ||
        setsockopt(ep->listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
        bind(ep->listener, found->ai_addr, found->ai_addrlen) != 0 ||
        listen(ep->listener, 8) != 0 || nonblocking(ep->listener) != 0 ||
        getsockname(ep->listener, (struct sockaddr *)&bound, &bound_len) != 0) {
        snprintf(err, err_size, "--tcp %s:%s: %s", host, port, strerror(errno));
        freeaddrinfo(found);
        return -1;
    }
    freeaddrinfo(found);
    if (bound.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&bound;
        inet_ntop(AF_INET6, &in6->sin6_addr, shown, sizeof shown);
        bound_port = ntohs(in6->sin6_port);
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&bound;
        inet_ntop(AF_INET, &in->sin_addr, shown, sizeof shown);
        bound_port = ntohs(in->sin_port);
    }
    snprintf(ep->url, sizeof ep->url, "socket://%s:%u", shown, bound_port);
    if (!is_loopback((const struct sockaddr *)&bound)) {
        fprintf(stderr, "WARNING listening on %s: reachable from other machines\n", ep->url);
    }
    return 0;
}

int host_fds(const host_endpoint *ep, fd_set *readable, fd_set *writable)
{
    int top = -1;
    /* The listener is polled only while no host is connected: the next host is accepted once
     * the previous one's end has been seen (realtime.TcpEndpoint, issue 14 item 13). */
    int reading = ep->fd >= 0 ? ep->fd : ep->listener;
    if (reading >= 0) {
        FD_SET(reading, readable);
        top = reading;
    }
    if (ep->fd >= 0 && ep->pending_len > 0) {
        FD_SET(ep->fd, writable);
    }
    return top;
}

static void drop_client(host_endpoint *ep)
{
    if (ep->fd >= 0) {
        close(ep->fd);
        ep->fd = -1;
    }
    ep->pending_len = 0;
}

static void flush_pending(host_endpoint *ep)
{
    ssize_t sent;
    if (ep->fd < 0 || ep->pending_len == 0) {
        return;
    }
    sent = write(ep->fd, ep->pending, ep->pending_len);
    if (sent <= 0) {
        return; /* EAGAIN: try again when writable; an error shows on the next read */
    }
    memmove(ep->pending, ep->pending + sent, ep->pending_len - (size_t)sent);
    ep->pending_len -= (size_t)sent;
}

static void accept_host(host_endpoint *ep)
{
    int yes = 1;
    int fd = accept(ep->listener, NULL, NULL);
    if (fd < 0) {
        return;
    }
    if (nonblocking(fd) != 0) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    ep->fd = fd;
    fprintf(stderr, "INFO host connected\n");
}

size_t host_on_ready(host_endpoint *ep, const fd_set *readable, const fd_set *writable,
                     uint8_t *buf, size_t size)
{
    ssize_t got;
    if (ep->fd < 0) {
        if (ep->is_tcp && ep->listener >= 0 && FD_ISSET(ep->listener, readable)) {
            accept_host(ep);
        }
        return 0;
    }
    if (FD_ISSET(ep->fd, writable)) {
        flush_pending(ep);
    }
    if (!FD_ISSET(ep->fd, readable)) {
        return 0;
    }
    got = read(ep->fd, buf, size);
    if (got > 0) {
        return (size_t)got;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return 0;
    }
    if (ep->is_tcp) {
        fprintf(stderr, "INFO host disconnected\n");
        drop_client(ep);
    }
    return 0;
}

void host_send(host_endpoint *ep, const uint8_t *data, size_t len)
{
    size_t room = HOST_MAX_PENDING - ep->pending_len;
    if (ep->fd < 0) {
        return; /* no TCP host connected: the output is lost, as on an unplugged cable */
    }
    if (len > room) {
        ep->lost_bytes += (unsigned long)(len - room);
        fprintf(stderr, "WARNING host is not reading: %lu bytes of device output lost\n",
                (unsigned long)(len - room));
        len = room;
    }
    memcpy(ep->pending + ep->pending_len, data, len);
    ep->pending_len += len;
    flush_pending(ep);
}

void host_close(host_endpoint *ep)
{
    drop_client(ep);
    if (ep->slave >= 0) {
        close(ep->slave);
        ep->slave = -1;
    }
    if (ep->listener >= 0) {
        close(ep->listener);
        ep->listener = -1;
    }
}
