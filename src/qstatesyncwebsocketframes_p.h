// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCWEBSOCKETFRAMES_P_H
#define QSTATESYNCWEBSOCKETFRAMES_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It exists for the convenience of the
// QStateSync implementation and its tests. It may change without notice.
//

#include "qstatesync_global.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qbytearrayview.h>

// The server's side of RFC 6455 for the I/O threads, which speak WebSocket on raw sockets:
// the handshake's accept key, the frames a server writes, and a reader of the frames a
// client sends. The JSON inside is QStateSyncProtocol's.
namespace QStateSyncWebSocket {

enum CloseCode : quint16 {
    CloseNormal = 1000,
    CloseGoingAway = 1001,
    CloseProtocolError = 1002,
    CloseNoStatus = 1005,
    CloseBadPayload = 1007,
    ClosePolicyViolated = 1008,
    CloseTooMuchData = 1009,
};

enum Opcode : quint8 {
    OpContinuation = 0x0,
    OpText = 0x1,
    OpBinary = 0x2,
    OpClose = 0x8,
    OpPing = 0x9,
    OpPong = 0xa,
};

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
Q_STATESYNC_EXPORT QByteArray acceptKey(QByteArrayView clientKey);
// Whether a Sec-WebSocket-Key is what RFC 6455 asks: 16 bytes in base64.
Q_STATESYNC_EXPORT bool isValidClientKey(QByteArrayView clientKey);

// Whether bytes are well-formed UTF-8 (no overlongs, surrogates or code points past
// U+10FFFF), as a text message must be.
Q_STATESYNC_EXPORT bool isValidUtf8(QByteArrayView bytes);

// An unmasked control frame (close, ping, pong); payload at most 125 bytes.
Q_STATESYNC_EXPORT QByteArray controlFrame(Opcode opcode, QByteArrayView payload = {});
// A close frame with a code and a reason, cut to fit in a control frame on a character
// boundary.
Q_STATESYNC_EXPORT QByteArray closeFrame(quint16 code, QByteArrayView reason = {});

// Reads what a client sends: masked frames, text and binary messages maybe in fragments,
// control frames between the fragments. feed() consumes whole frames only; the caller
// keeps the rest and feeds it again with more bytes. Payloads are unmasked in place.
class Q_STATESYNC_EXPORT FrameReader
{
public:
    class Handler
    {
    public:
        virtual ~Handler() = default;
        // A whole text message, valid UTF-8. The view lives until the handler returns.
        virtual void textMessage(QByteArrayView message) = 0;
        virtual void binaryMessage() = 0;
        virtual void ping(QByteArrayView payload) = 0;
        virtual void pong() = 0;
        // code is CloseNoStatus when the frame had none.
        virtual void closeReceived(quint16 code, QByteArrayView reason) = 0;
        // The peer broke the protocol: close the connection with code.
        virtual void protocolError(quint16 code, const char *why) = 0;
    };

    explicit FrameReader(qint64 maxMessageSize = 1024 * 1024)
        : m_maxMessageSize(maxMessageSize)
    { }
    void setMaxMessageSize(qint64 size) { m_maxMessageSize = size; }

    // Reads the whole frames at the start of data, calling handler for each event, and
    // returns how many bytes it consumed. After protocolError() or closeReceived() it
    // reads nothing more.
    qsizetype feed(char *data, qsizetype size, Handler *handler);
    // Whether the reader stopped for good (error or close).
    bool isFinished() const { return m_finished; }
    // Stops the current feed() after the event being handled.
    // Bytes of a fragmented message held so far.
    qsizetype heldBytes() const { return m_fragments.size(); }
    // The memory a partly received message holds, given back between messages.
    void releaseMemory() { m_fragments = QByteArray(); }

private:
    void finish();
    void fail(Handler *handler, quint16 code, const char *why);

    qint64 m_maxMessageSize;
    QByteArray m_fragments;
    quint64 m_messageSize = 0; // of the fragmented message so far
    quint8 m_fragmentOpcode = 0; // OpText or OpBinary while a fragmented message goes on
    bool m_finished = false;
};

} // namespace QStateSyncWebSocket

#endif // QSTATESYNCWEBSOCKETFRAMES_P_H
