// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// Fuzzes the I/O threads' reader of client frames (QStateSyncWebSocket::FrameReader) and
// the UTF-8 check and close frames it relies on. The input is three bytes of settings,
// then the bytes a client sends:
//   byte 0     the reader's maximum message size minus one (1 to 256 bytes)
//   bytes 1-2  the seed of the points where the stream is cut into pieces
//
// The stream is fed whole, and again in pieces the way an I/O thread feeds what it reads:
// what the reader does not consume is kept and fed again with the next piece. Both must
// give the same events. Each feed consumes no more than it was given and nothing once
// the reader finished; a text message handed over is well-formed UTF-8 (by Unicode's
// table, written here independently) within the limit; a close code is one a peer may
// send; what the reader and its caller hold is bounded by the limit; nothing comes after
// a close or an error.

#include "fuzzsupport.h"

#include "qstatesyncwebsocketframes_p.h"

#include <QtCore/qlist.h>

using namespace QStateSyncWebSocket;

namespace {

// Unicode 15, table 3-7: the well-formed UTF-8 byte sequences.
bool referenceUtf8(QByteArrayView data)
{
    const auto *p = reinterpret_cast<const uchar *>(data.data());
    const qsizetype size = data.size();
    const auto in = [&](qsizetype at, uchar low, uchar high) {
        return at < size && p[at] >= low && p[at] <= high;
    };
    qsizetype i = 0;
    while (i < size) {
        const uchar b = p[i];
        qsizetype length = 0;
        if (b <= 0x7f)
            length = 1;
        else if (b >= 0xc2 && b <= 0xdf)
            length = in(i + 1, 0x80, 0xbf) ? 2 : 0;
        else if (b == 0xe0)
            length = in(i + 1, 0xa0, 0xbf) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if (b == 0xed)
            length = in(i + 1, 0x80, 0x9f) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if (b >= 0xe1 && b <= 0xef)
            length = in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if (b == 0xf0)
            length = in(i + 1, 0x90, 0xbf) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4
                                                                                             : 0;
        else if (b >= 0xf1 && b <= 0xf3)
            length = in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4
                                                                                             : 0;
        else if (b == 0xf4)
            length = in(i + 1, 0x80, 0x8f) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4
                                                                                             : 0;
        if (length == 0)
            return false;
        i += length;
    }
    return true;
}

bool sendableCloseCode(quint16 code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
            || (code >= 3000 && code <= 4999);
}

// Checks every event as it comes and records it.
class Checker : public FrameReader::Handler
{
public:
    Checker(const FrameReader *reader, qint64 maxSize, const QByteArray &input)
        : m_reader(reader)
        , m_maxSize(maxSize)
        , m_input(input)
    { }

    void textMessage(QByteArrayView message) override
    {
        event("text:" + message.toByteArray());
        FUZZ_CHECK(referenceUtf8(message),
                   detail("text not UTF-8: " + message.toByteArray().toHex()));
        FUZZ_CHECK(message.size() <= m_maxSize, detail("text larger than the limit"));
    }
    void binaryMessage() override { event("binary"); }
    void ping(QByteArrayView payload) override
    {
        event("ping:" + payload.toByteArray());
        FUZZ_CHECK(payload.size() <= 125, detail("ping payload over 125 bytes"));
    }
    void pong() override { event("pong"); }
    void closeReceived(quint16 code, QByteArrayView reason) override
    {
        event("close:" + QByteArray::number(code) + ':' + reason.toByteArray());
        FUZZ_CHECK(code == CloseNoStatus ? reason.isEmpty() : sendableCloseCode(code),
                   detail("close code " + QByteArray::number(code)));
        FUZZ_CHECK(referenceUtf8(reason) && reason.size() <= 123, detail("close reason"));
        FUZZ_CHECK(m_reader->isFinished(), detail("not finished after a close"));
        FUZZ_CHECK(m_reader->heldBytes() == 0, detail("fragments held after a close"));
        m_ended = true;
    }
    void protocolError(quint16 code, const char *why) override
    {
        event("error:" + QByteArray::number(code) + ':' + why);
        FUZZ_CHECK(code == CloseProtocolError || code == CloseBadPayload
                           || code == CloseTooMuchData,
                   detail("error code " + QByteArray::number(code)));
        FUZZ_CHECK(m_reader->isFinished(), detail("not finished after an error"));
        FUZZ_CHECK(m_reader->heldBytes() == 0, detail("fragments held after an error"));
        m_ended = true;
    }

    QByteArray detail(const QByteArray &what) const
    {
        return what + "\nmax " + QByteArray::number(m_maxSize) + ", input " + m_input.toHex();
    }

    QList<QByteArray> events;

private:
    void event(const QByteArray &line)
    {
        FUZZ_CHECK(!m_ended, detail("an event after the end: " + line.left(64)));
        events.append(line);
    }

    const FrameReader *m_reader;
    qint64 m_maxSize;
    const QByteArray &m_input;
    bool m_ended = false;
};

// One feed, checked: returns what it consumed.
qsizetype feed(FrameReader &reader, Checker &checker, QByteArray &buffer)
{
    const bool wasFinished = reader.isFinished();
    const qsizetype eventsBefore = checker.events.size();
    const qsizetype used = reader.feed(buffer.data(), buffer.size(), &checker);
    FUZZ_CHECK(used >= 0 && used <= buffer.size(),
               checker.detail("consumed " + QByteArray::number(used) + " of "
                              + QByteArray::number(buffer.size())));
    FUZZ_CHECK(!wasFinished || (used == 0 && checker.events.size() == eventsBefore),
               checker.detail("read after the end"));
    return used;
}

// Cuts the input into the pieces the seed chooses, 1 to 23 bytes long.
class Cutter
{
public:
    explicit Cutter(quint32 seed)
        : m_state(seed * 2654435761u + 1)
    { }
    qsizetype next()
    {
        m_state = m_state * 1103515245u + 12345u;
        return 1 + qsizetype((m_state >> 16) % 23);
    }

private:
    quint32 m_state;
};

void checkCloseFrame(QByteArrayView stream, quint16 code)
{
    const QByteArrayView reason = stream.first(std::min<qsizetype>(stream.size(), 200));
    const QByteArray frame = closeFrame(code, reason);
    FUZZ_CHECK(frame.size() >= 4 && frame.size() <= 127 && uchar(frame.at(0)) == 0x88
                       && uchar(frame.at(1)) == frame.size() - 2,
               "close frame " + frame.toHex());
    const QByteArray sent = frame.mid(4);
    FUZZ_CHECK(reason.startsWith(sent), "close reason not a prefix: " + frame.toHex());
    FUZZ_CHECK(!referenceUtf8(reason) || sent.size() == reason.size() || sent.size() >= 120,
               "close reason cut too short: " + frame.toHex());
    FUZZ_CHECK(!referenceUtf8(reason) || referenceUtf8(sent),
               "close reason cut in a character: " + reason.toByteArray().toHex());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const qint64 maxSize = 1 + data[0];
    const Cutter cutter(quint32(data[1]) << 8 | data[2]);
    const QByteArray stream(reinterpret_cast<const char *>(data + 3), qsizetype(size - 3));

    // The check the reader relies on agrees with Unicode's table on any bytes.
    FUZZ_CHECK(isValidUtf8(stream) == referenceUtf8(stream), "UTF-8 check: " + stream.toHex());
    checkCloseFrame(stream, quint16(data[1] << 8 | data[2]));

    // Whole.
    FrameReader whole(maxSize);
    Checker wholeChecker(&whole, maxSize, stream);
    QByteArray buffer = stream;
    const qsizetype consumed = feed(whole, wholeChecker, buffer);
    if (whole.isFinished()) {
        // Fed the rest again, the finished reader takes nothing (feed() checks it).
        QByteArray rest = buffer.mid(consumed);
        feed(whole, wholeChecker, rest);
    }

    // In pieces, as an I/O thread feeds what it reads.
    FrameReader pieces(maxSize);
    Checker piecesChecker(&pieces, maxSize, stream);
    Cutter cut = cutter;
    QByteArray held;
    for (qsizetype offset = 0; offset < stream.size();) {
        const qsizetype length = std::min(cut.next(), stream.size() - offset);
        held += stream.mid(offset, length);
        offset += length;
        const qsizetype used = feed(pieces, piecesChecker, held);
        held.remove(0, used);
        if (pieces.isFinished())
            held.clear(); // the rest is ignored, as an I/O thread does
        // A frame too large is refused from its header: what waits is at most a header
        // and a payload within the limit (or a control frame's 125 bytes).
        FUZZ_CHECK(held.size() <= 14 + std::max<qint64>(maxSize, 125),
                   piecesChecker.detail("held " + QByteArray::number(held.size())));
        FUZZ_CHECK(pieces.heldBytes() <= maxSize,
                   piecesChecker.detail("fragments " + QByteArray::number(pieces.heldBytes())));
    }

    FUZZ_CHECK(piecesChecker.events == wholeChecker.events,
               piecesChecker.detail("events differ: whole "
                                    + QByteArray::number(wholeChecker.events.size()) + ", pieces "
                                    + QByteArray::number(piecesChecker.events.size())));
    FUZZ_CHECK(pieces.isFinished() == whole.isFinished(), piecesChecker.detail("finished differs"));
    if (!whole.isFinished()) {
        FUZZ_CHECK(held == stream.mid(consumed), piecesChecker.detail("unconsumed tails differ"));
    }
    return 0;
}
