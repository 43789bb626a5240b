// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "serverside.h"

#include "websocket.h"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace loadgen {

namespace {

constexpr size_t MaxRequestSize = 16 * 1024;

// Where the value of the header `name` (lower case, with its colon) starts in the header
// block `head`, or npos. Header names are case-insensitive (RFC 9110).
size_t headerValueAt(const std::string &head, const char *name)
{
    const size_t nameSize = std::strlen(name);
    size_t line = head.find("\r\n");
    while (line != std::string::npos && line + 2 < head.size()) {
        const size_t start = line + 2;
        bool same = start + nameSize <= head.size();
        for (size_t i = 0; same && i < nameSize; ++i)
            same = std::tolower(static_cast<unsigned char>(head[start + i])) == name[i];
        if (same) {
            size_t value = start + nameSize;
            while (value < head.size() && (head[value] == ' ' || head[value] == '\t'))
                ++value;
            return value;
        }
        line = head.find("\r\n", start);
    }
    return std::string::npos;
}

} // namespace

int listenOnLoopback(int port, int &boundPort, std::string &error)
{
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0
        || ::listen(listener, 4096) != 0
        || getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        error = "127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
        ::close(listener);
        return -1;
    }
    boundPort = ntohs(address.sin_port);
    return listener;
}

UpgradeResult answerUpgrade(const std::string &in, std::string &answer, size_t &requestSize,
                            std::string &error)
{
    const size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (in.size() <= MaxRequestSize)
            return UpgradeResult::NeedMore;
        error = "an HTTP request of more than 16 KiB";
        return UpgradeResult::Error;
    }
    const std::string head = in.substr(0, end + 2); // each line ends with \r\n
    if (head.compare(0, 4, "GET ") != 0) {
        error = "not a GET request: " + head.substr(0, head.find("\r\n")).substr(0, 80);
        return UpgradeResult::Error;
    }
    const size_t keyAt = headerValueAt(head, "sec-websocket-key:");
    const size_t keyEnd = keyAt == std::string::npos ? keyAt : head.find_first_of(" \t\r", keyAt);
    if (keyAt == std::string::npos || keyEnd == keyAt) {
        error = "an upgrade request without Sec-WebSocket-Key";
        return UpgradeResult::Error;
    }
    answer += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: ";
    answer += acceptValueFor(head.substr(keyAt, keyEnd - keyAt));
    answer += "\r\n\r\n";
    requestSize = end + 4;
    return UpgradeResult::Answered;
}

} // namespace loadgen
