/* SPDX-License-Identifier: MIT */
/* Doorbells: TCP bytes that wake ranks sleeping in poll(). */
#include "doorbell.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int doorbell_listen(int *port, struct mps_error *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errprintf(err, "doorbell socket: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        int saved = errno;
        close(fd);
        return errprintf(err, "doorbell listen: %s", strerror(saved));
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

int doorbell_addresses(int port, char *buf, size_t len)
{
    struct ifaddrs *ifs = NULL;
    size_t used = 0;
    buf[0] = '\0';
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
                continue;
            struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
            if (ntohl(sin->sin_addr.s_addr) >> 24 == 127)
                continue;
            char ip[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
            int n = snprintf(buf + used, len - used, "%s,", ip);
            if (n < 0 || (size_t)n >= len - used)
                break;
            used += (size_t)n;
        }
        freeifaddrs(ifs);
    }
    int n = snprintf(buf + used, len - used, "127.0.0.1:%d", port);
    return n < 0 || (size_t)n >= len - used ? -1 : 0;
}

static int try_connect(const char *ip, int port, int timeout_ms)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
        errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (poll(&pfd, 1, timeout_ms) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int doorbell_connect(const char *addresses, int rank, int timeout_ms)
{
    const char *colon = strrchr(addresses, ':');
    if (!colon)
        return -1;
    int port = atoi(colon + 1);
    char list[4096];
    snprintf(list, sizeof list, "%.*s", (int)(colon - addresses), addresses);
    /* Loopback first: ranks on rank 0's own host need no network. */
    char *ips[64];
    int n = 0;
    for (char *save, *ip = strtok_r(list, ",", &save); ip && n < 63;
         ip = strtok_r(NULL, ",", &save))
        ips[n++] = ip;
    for (int i = n - 1; i >= 0; i--) {
        int fd = try_connect(ips[i], port, timeout_ms);
        if (fd < 0)
            continue;
        uint32_t id = htonl((uint32_t)rank);
        if (write(fd, &id, sizeof id) == (ssize_t)sizeof id)
            return fd;
        close(fd);
    }
    return -1;
}

int doorbell_accept(int listen_fd, int *rank)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    /* The announcement follows the connect at once; wait briefly for it. */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    uint32_t id;
    if (poll(&pfd, 1, 1000) != 1 ||
        read(fd, &id, sizeof id) != (ssize_t)sizeof id) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *rank = (int)ntohl(id);
    return fd;
}

void doorbell_ring(int fd)
{
    if (fd < 0)
        return;
    char byte = 1;
    ssize_t unused = send(fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)unused;
}

int doorbell_drain(int fd)
{
    char buf[256];
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got > 0)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        return -1;
    }
}
