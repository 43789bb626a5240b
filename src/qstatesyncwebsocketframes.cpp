// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncwebsocketframes_p.h"

#include <QtCore/qcryptographichash.h>

#include <cstring>

namespace QStateSyncWebSocket {

QByteArray acceptKey(QByteArrayView clientKey)
{
    QCryptographicHash hash(QCryptographicHash::Sha1);
    hash.addData(clientKey);
    hash.addData(QByteArrayView("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    return hash.result().toBase64();
}

bool isValidClientKey(QByteArrayView clientKey)
{
    if (clientKey.size() != 24)
        return false;
    const auto decoded = QByteArray::fromBase64Encoding(clientKey.toByteArray(),
                                                        QByteArray::AbortOnBase64DecodingErrors);
    return decoded.decodingStatus == QByteArray::Base64DecodingStatus::Ok
            && decoded.decoded.size() == 16;
}

bool isValidUtf8(QByteArrayView bytes)
{
    const auto *p = reinterpret_cast<const uchar *>(bytes.data());
    const uchar *const end = p + bytes.size();
    while (p < end) {
        // ASCII eight bytes at a time: JSON is mostly ASCII.
        if (end - p >= 8) {
            quint64 word;
            std::memcpy(&word, p, sizeof word);
            if (!(word & 0x8080808080808080ULL)) {
                p += 8;
                continue;
            }
        }
        const uchar lead = *p;
        if (lead < 0x80) {
            ++p;
            continue;
        }
        int count;
        char32_t minimum;
        char32_t codePoint;
        if ((lead & 0xe0) == 0xc0) {
            count = 1;
            minimum = 0x80;
            codePoint = lead & 0x1f;
        } else if ((lead & 0xf0) == 0xe0) {
            count = 2;
            minimum = 0x800;
            codePoint = lead & 0x0f;
        } else if ((lead & 0xf8) == 0xf0) {
            count = 3;
            minimum = 0x10000;
            codePoint = lead & 0x07;
        } else {
            return false;
        }
        if (end - p <= count)
            return false;
        for (int i = 1; i <= count; ++i) {
            const uchar next = p[i];
            if ((next & 0xc0) != 0x80)
                return false;
            codePoint = (codePoint << 6) | (next & 0x3f);
        }
        if (codePoint < minimum || codePoint > 0x10ffff
            || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
            return false;
        }
        p += count + 1;
    }
    return true;
}

QByteArray controlFrame(Opcode opcode, QByteArrayView payload)
{
    Q_ASSERT(payload.size() <= 125);
    QByteArray frame;
    frame.reserve(2 + payload.size());
    frame.append(char(0x80 | opcode));
    frame.append(char(payload.size()));
    frame.append(payload.data(), payload.size());
    return frame;
}

QByteArray closeFrame(quint16 code, QByteArrayView reason)
{
    // 125 bytes of payload, two of them the code; a reason cut in the middle of a
    // character would not be UTF-8 any more.
    qsizetype length = std::min<qsizetype>(reason.size(), 123);
    while (length > 0 && length < reason.size() && (uchar(reason.at(length)) & 0xc0) == 0x80)
        --length;
    QByteArray payload;
    payload.append(char(code >> 8));
    payload.append(char(code & 0xff));
    payload.append(reason.data(), length);
    return controlFrame(OpClose, payload);
}

namespace {
void unmask(char *data, qsizetype size, const uchar *key)
{
    quint32 key32;
    std::memcpy(&key32, key, 4);
    const quint64 key64 = (quint64(key32) << 32) | key32;
    qsizetype i = 0;
    for (; i + 8 <= size; i += 8) {
        quint64 word;
        std::memcpy(&word, data + i, 8);
        word ^= key64;
        std::memcpy(data + i, &word, 8);
    }
    for (; i < size; ++i)
        data[i] = char(data[i] ^ key[i & 3]);
}

bool isValidCloseCode(quint16 code)
{
    // RFC 6455 7.4: the codes an endpoint may send; 1004-1006 and 1015 are not for the wire.
    if (code >= 3000 && code <= 4999)
        return true;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}
} // namespace

void FrameReader::finish()
{
    // Nothing more is read: a message in fragments will never be whole.
    m_finished = true;
    m_fragments = QByteArray();
    m_fragmentOpcode = 0;
    m_messageSize = 0;
}

void FrameReader::fail(Handler *handler, quint16 code, const char *why)
{
    finish();
    handler->protocolError(code, why);
}

qsizetype FrameReader::feed(char *data, qsizetype size, Handler *handler)
{
    qsizetype consumed = 0;
    while (!m_finished) {
        const qsizetype available = size - consumed;
        if (available < 2)
            break;
        auto *head = reinterpret_cast<uchar *>(data + consumed);
        const bool fin = head[0] & 0x80;
        const quint8 opcode = head[0] & 0x0f;
        const bool masked = head[1] & 0x80;
        quint64 length = head[1] & 0x7f;
        qsizetype headerSize = 2;
        if (length == 126) {
            if (available < 4)
                break;
            length = (quint64(head[2]) << 8) | head[3];
            headerSize = 4;
        } else if (length == 127) {
            if (available < 10)
                break;
            length = 0;
            for (int i = 2; i < 10; ++i)
                length = (length << 8) | head[i];
            headerSize = 10;
            if (length >> 63) {
                fail(handler, CloseProtocolError, "frame length with the top bit set");
                break;
            }
        }
        // Checked before the payload arrives, so no one waits for a frame that is too large.
        if (head[0] & 0x70) {
            fail(handler, CloseProtocolError, "reserved bits set without an extension");
            break;
        }
        if (!masked) {
            fail(handler, CloseProtocolError, "a client frame without a mask");
            break;
        }
        const bool control = opcode & 0x08;
        if (control) {
            if (opcode != OpClose && opcode != OpPing && opcode != OpPong) {
                fail(handler, CloseProtocolError, "unknown control opcode");
                break;
            }
            if (!fin || length > 125) {
                fail(handler, CloseProtocolError, "fragmented or long control frame");
                break;
            }
        } else {
            if (opcode != OpContinuation && opcode != OpText && opcode != OpBinary) {
                fail(handler, CloseProtocolError, "unknown data opcode");
                break;
            }
            if (opcode == OpContinuation && !m_fragmentOpcode) {
                fail(handler, CloseProtocolError, "a continuation frame without a message");
                break;
            }
            if (opcode != OpContinuation && m_fragmentOpcode) {
                fail(handler, CloseProtocolError, "a new message inside a fragmented one");
                break;
            }
            const quint64 total = m_messageSize + length;
            if (m_maxMessageSize > 0 && total > quint64(m_maxMessageSize)) {
                fail(handler, CloseTooMuchData, "message larger than allowed");
                break;
            }
        }
        headerSize += 4; // the mask
        if (quint64(available - headerSize) < length || available < headerSize)
            break;
        const uchar *key = head + headerSize - 4;
        char *payload = data + consumed + headerSize;
        const auto payloadSize = qsizetype(length);
        unmask(payload, payloadSize, key);
        consumed += headerSize + payloadSize;
        const QByteArrayView view(payload, payloadSize);

        switch (opcode) {
        case OpPing:
            handler->ping(view);
            continue;
        case OpPong:
            handler->pong();
            continue;
        case OpClose: {
            finish();
            if (payloadSize == 1) {
                handler->protocolError(CloseProtocolError, "a close frame of one byte");
                break;
            }
            quint16 code = CloseNoStatus;
            QByteArrayView reason;
            if (payloadSize >= 2) {
                code = quint16((uchar(payload[0]) << 8) | uchar(payload[1]));
                reason = view.sliced(2);
                if (!isValidCloseCode(code)) {
                    handler->protocolError(CloseProtocolError, "an invalid close code");
                    break;
                }
                if (!isValidUtf8(reason)) {
                    handler->protocolError(CloseBadPayload, "a close reason that is not UTF-8");
                    break;
                }
            }
            handler->closeReceived(code, reason);
            break;
        }
        default: {
            const quint8 messageOpcode = opcode == OpContinuation ? m_fragmentOpcode : opcode;
            if (!fin) {
                m_fragmentOpcode = messageOpcode;
                m_messageSize += length;
                // A binary message is refused whole: only its size matters.
                if (messageOpcode == OpText)
                    m_fragments.append(view.data(), view.size());
                continue;
            }
            const bool fragmented = m_fragmentOpcode != 0;
            m_fragmentOpcode = 0;
            m_messageSize = 0;
            if (messageOpcode == OpBinary) {
                releaseMemory();
                handler->binaryMessage();
                continue;
            }
            if (fragmented) {
                m_fragments.append(view.data(), view.size());
                const QByteArray message = std::exchange(m_fragments, QByteArray());
                if (!isValidUtf8(message)) {
                    fail(handler, CloseBadPayload, "a text message that is not UTF-8");
                    break;
                }
                handler->textMessage(message);
            } else {
                if (!isValidUtf8(view)) {
                    fail(handler, CloseBadPayload, "a text message that is not UTF-8");
                    break;
                }
                handler->textMessage(view);
            }
            continue;
        }
        }
    }
    return consumed;
}

} // namespace QStateSyncWebSocket
