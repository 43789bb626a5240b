// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef WEBSOCKETFRAMESTEST_H
#define WEBSOCKETFRAMESTEST_H

// What the two halves of the websocketframes suite share: client frames made by hand, a
// handler that records what a FrameReader reports, feeding in pieces, and Unicode's table
// of well-formed UTF-8 written independently of the code under test.

#include "qstatesyncwebsocketframes_p.h"

#include <QtCore/qlist.h>
#include <QtCore/qobject.h>
#include <QtTest/qtest.h>

#include <optional>

namespace FramesTest {
// A client frame: firstByte is FIN, RSV and opcode; the payload is masked with mask unless
// masked is false; announcedLength, when set, replaces the real length in the header.
inline QByteArray clientFrame(quint8 firstByte, const QByteArray &payload, bool masked = true,
                              std::optional<quint64> announcedLength = std::nullopt,
                              const QByteArray &mask = QByteArray("\x37\xfa\x21\x3d"))
{
    QByteArray frame;
    frame.append(char(firstByte));
    const quint64 length = announcedLength.value_or(quint64(payload.size()));
    const char maskBit = masked ? char(0x80) : char(0);
    if (length < 126) {
        frame.append(char(maskBit | char(length)));
    } else if (length <= 0xffff) {
        frame.append(char(maskBit | 126));
        frame.append(char(length >> 8));
        frame.append(char(length & 0xff));
    } else {
        frame.append(char(maskBit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            frame.append(char((length >> shift) & 0xff));
    }
    if (!masked)
        return frame + payload;
    frame.append(mask);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(char(payload.at(i) ^ mask.at(i % 4)));
    return frame;
}

inline QByteArray text(const QByteArray &payload, bool fin = true)
{
    return clientFrame(fin ? 0x81 : 0x01, payload);
}

inline QByteArray continuation(const QByteArray &payload, bool fin)
{
    return clientFrame(fin ? 0x80 : 0x00, payload);
}

inline QByteArray closePayload(quint16 code, const QByteArray &reason = {})
{
    return QByteArray(1, char(code >> 8)) + char(code & 0xff) + reason;
}

// Records what the reader reports, one line per event.
class Recorder : public QStateSyncWebSocket::FrameReader::Handler
{
public:
    void textMessage(QByteArrayView message) override
    {
        events.append("text:" + message.toByteArray());
    }
    void binaryMessage() override { events.append("binary"); }
    void ping(QByteArrayView payload) override { events.append("ping:" + payload.toByteArray()); }
    void pong() override { events.append("pong"); }
    void closeReceived(quint16 code, QByteArrayView reason) override
    {
        events.append("close:" + QByteArray::number(code) + ':' + reason.toByteArray());
    }
    void protocolError(quint16 code, const char *) override
    {
        events.append("error:" + QByteArray::number(code));
    }

    QList<QByteArray> events;
};

// Feeds bytes the way an I/O thread does, whole or in pieces of at most chunk bytes: what
// the reader does not consume is kept and fed again with the next piece. Returns the bytes
// left unconsumed at the end.
inline qsizetype feedInPieces(QStateSyncWebSocket::FrameReader &reader, Recorder &recorder,
                              const QByteArray &bytes, qsizetype chunk)
{
    QByteArray held;
    for (qsizetype offset = 0; offset < bytes.size(); offset += chunk) {
        held += bytes.mid(offset, chunk);
        const qsizetype used = reader.feed(held.data(), held.size(), &recorder);
        if (used < 0 || used > held.size())
            qFatal("feed() consumed %lld of %lld bytes", qlonglong(used), qlonglong(held.size()));
        held.remove(0, used);
    }
    return held.size();
}

inline QByteArray bytes(std::initializer_list<int> values)
{
    QByteArray result;
    for (const int value : values)
        result.append(char(value));
    return result;
}

// Unicode's table of well-formed UTF-8 byte sequences (Unicode 15, table 3-7), written
// independently of the code under test.
inline bool referenceUtf8(const QByteArray &data)
{
    const auto *p = reinterpret_cast<const uchar *>(data.constData());
    const qsizetype size = data.size();
    qsizetype i = 0;
    const auto in = [&](qsizetype at, uchar low, uchar high) {
        return at < size && p[at] >= low && p[at] <= high;
    };
    while (i < size) {
        const uchar b = p[i];
        if (b <= 0x7f) {
            i += 1;
        } else if (b >= 0xc2 && b <= 0xdf && in(i + 1, 0x80, 0xbf)) {
            i += 2;
        } else if (b == 0xe0 && in(i + 1, 0xa0, 0xbf) && in(i + 2, 0x80, 0xbf)) {
            i += 3;
        } else if (((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) && in(i + 1, 0x80, 0xbf)
                   && in(i + 2, 0x80, 0xbf)) {
            i += 3;
        } else if (b == 0xed && in(i + 1, 0x80, 0x9f) && in(i + 2, 0x80, 0xbf)) {
            i += 3;
        } else if (b == 0xf0 && in(i + 1, 0x90, 0xbf) && in(i + 2, 0x80, 0xbf)
                   && in(i + 3, 0x80, 0xbf)) {
            i += 4;
        } else if (b >= 0xf1 && b <= 0xf3 && in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf)
                   && in(i + 3, 0x80, 0xbf)) {
            i += 4;
        } else if (b == 0xf4 && in(i + 1, 0x80, 0x8f) && in(i + 2, 0x80, 0xbf)
                   && in(i + 3, 0x80, 0xbf)) {
            i += 4;
        } else {
            return false;
        }
    }
    return true;
}
} // namespace FramesTest

class tst_WebSocketFrames : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void acceptKeyOfTheRfcExample();
    void clientKeys_data();
    void clientKeys();
    void utf8_data();
    void utf8();
    void utf8AgreesWithUnicodesTable();
    void controlFrames();
    void closeFrameCutsTheReasonOnACharacter_data();
    void closeFrameCutsTheReasonOnACharacter();

    void readsOneTextFrame();
    void readsEveryLengthEncoding_data();
    void readsEveryLengthEncoding();
    void unmasksOddLengths();
    void waitsForWholeFramesFedByteByByte_data();
    void waitsForWholeFramesFedByteByByte();
    void readsSeveralFramesInOneFeed();
    void reassemblesFragmentedTextAroundAPing();
    void countsFragmentedBinaryWithoutKeepingIt();
    void brokenFramesAreProtocolErrors_data();
    void brokenFramesAreProtocolErrors();
    void maxMessageSizeOfOneFrameFromItsHeader();
    void maxMessageSizeAcrossFragments_data();
    void maxMessageSizeAcrossFragments();
    void noLimitWhenMaxMessageSizeIsZero();
    void closeFrames_data();
    void closeFrames();
    void readsNothingAfterCloseOrError_data();
    void readsNothingAfterCloseOrError();
    void fragmentsAreGivenBackWhenTheReaderFinishes_data();
    void fragmentsAreGivenBackWhenTheReaderFinishes();
    void invalidUtf8TextIs1007_data();
    void invalidUtf8TextIs1007();
};
#endif // WEBSOCKETFRAMESTEST_H
