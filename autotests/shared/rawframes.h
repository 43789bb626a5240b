// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef RAWFRAMES_H
#define RAWFRAMES_H

// A WebSocket peer written against the bytes: it performs the upgrade by hand and then
// sends whatever frames a test makes, well-formed or not (wrong lengths, invalid UTF-8,
// unmasked, reserved bits and opcodes, cut off halfway), and reads the server's frames
// back, close frames included.

#include "testsupport.h"

#include <QtCore/qrandom.h>
#include <QtCore/qendian.h>
#include <QtNetwork/qtcpsocket.h>

#include <optional>

class RawFramePeer
{
public:
    struct Frame
    {
        int opcode = 0;
        QByteArray payload;
    };

    ~RawFramePeer() { socket.abort(); }

    // Connects and upgrades with the v2 subprotocol; false when no 101 came.
    bool upgrade(quint16 port, const QByteArray &identifier = "raw")
    {
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (!socket.waitForConnected(TestSupport::Timeout))
            return false;
        socket.write(TestSupport::upgradeRequest("/?identifier=" + identifier,
                                                 "Sec-WebSocket-Protocol: qstatesync.v2\r\n"));
        const bool headRead = QTest::qWaitFor(
                [&] {
                    buffer += socket.readAll();
                    return buffer.contains("\r\n\r\n")
                            || socket.state() == QAbstractSocket::UnconnectedState;
                },
                TestSupport::Timeout);
        if (!headRead || !buffer.startsWith("HTTP/1.1 101"))
            return false;
        buffer.remove(0, buffer.indexOf("\r\n\r\n") + 4);
        return true;
    }

    // One frame: the first byte is FIN, RSV and opcode as given; the payload is masked
    // unless masked is false; announcedLength, when set, replaces the real length in the
    // header (the payload is sent as it is).
    static QByteArray frame(quint8 firstByte, const QByteArray &payload, bool masked = true,
                            std::optional<quint64> announcedLength = std::nullopt)
    {
        QByteArray bytes;
        bytes.append(char(firstByte));
        const quint64 length = announcedLength.value_or(quint64(payload.size()));
        const char maskBit = masked ? char(0x80) : char(0);
        if (length < 126) {
            bytes.append(char(maskBit | char(length)));
        } else if (length <= 0xffff) {
            bytes.append(char(maskBit | 126));
            char extended[2];
            qToBigEndian(quint16(length), extended);
            bytes.append(extended, 2);
        } else {
            bytes.append(char(maskBit | 127));
            char extended[8];
            qToBigEndian(length, extended);
            bytes.append(extended, 8);
        }
        QByteArray body = payload;
        if (masked) {
            char key[4];
            const quint32 random = QRandomGenerator::global()->generate();
            memcpy(key, &random, 4);
            bytes.append(key, 4);
            for (qsizetype i = 0; i < body.size(); ++i)
                body[i] = char(body.at(i) ^ key[i % 4]);
        }
        return bytes + body;
    }
    static QByteArray text(const QByteArray &payload) { return frame(0x81, payload); }

    void send(const QByteArray &bytes)
    {
        socket.write(bytes);
        socket.flush();
    }

    // Waits for the next whole frame from the server.
    std::optional<Frame> next(int timeout = TestSupport::Timeout)
    {
        std::optional<Frame> result;
        // Whether it came in time is told by result, read again below.
        (void)QTest::qWaitFor(
                [&] {
                    buffer += socket.readAll();
                    result = parse();
                    return result.has_value()
                            || (socket.state() == QAbstractSocket::UnconnectedState
                                && socket.bytesAvailable() == 0);
                },
                timeout);
        if (!result) {
            buffer += socket.readAll();
            result = parse();
        }
        return result;
    }
    // The next text message, as JSON; empty when none came.
    QJsonObject nextMessage(int timeout = TestSupport::Timeout)
    {
        while (const auto found = next(timeout)) {
            if (found->opcode == 0x1)
                return TestSupport::parse(QString::fromUtf8(found->payload));
        }
        return {};
    }
    // The code of the close frame the server sends next (skipping other frames); -1 when
    // the connection ended without one.
    int closeCode(int timeout = TestSupport::Timeout)
    {
        while (const auto found = next(timeout)) {
            if (found->opcode == 0x8)
                return found->payload.size() >= 2
                        ? qFromBigEndian<quint16>(found->payload.constData())
                        : 1005;
        }
        return -1;
    }
    bool waitForDisconnect(int timeout = TestSupport::Timeout)
    {
        return QTest::qWaitFor(
                [&] {
                    socket.readAll();
                    return socket.state() == QAbstractSocket::UnconnectedState;
                },
                timeout);
    }

    QTcpSocket socket;

private:
    std::optional<Frame> parse()
    {
        if (buffer.size() < 2)
            return std::nullopt;
        const auto *data = reinterpret_cast<const uchar *>(buffer.constData());
        quint64 length = data[1] & 0x7f;
        qsizetype offset = 2;
        if (length == 126) {
            if (buffer.size() < 4)
                return std::nullopt;
            length = qFromBigEndian<quint16>(data + 2);
            offset = 4;
        } else if (length == 127) {
            if (buffer.size() < 10)
                return std::nullopt;
            length = qFromBigEndian<quint64>(data + 2);
            offset = 10;
        }
        if (quint64(buffer.size() - offset) < length)
            return std::nullopt;
        Frame frame{data[0] & 0x0f, buffer.mid(offset, qsizetype(length))};
        buffer.remove(0, offset + qsizetype(length));
        return frame;
    }

    QByteArray buffer;
};

#endif // RAWFRAMES_H
