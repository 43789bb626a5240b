// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The server's own RFC 6455 layer, without sockets: the handshake's accept key, the UTF-8
// check of text messages and close reasons, the frames the server writes, and the reader
// of what clients send (masks, lengths, fragments, control frames between fragments,
// limits, close codes), fed whole, in pieces and byte by byte.

#include "qstatesyncwebsocketframes_p.h"

#include <QtCore/qlist.h>
#include <QtCore/qstringconverter.h>
#include <QtTest/qtest.h>

#include <optional>

using namespace QStateSyncWebSocket;

namespace {
// A client frame: firstByte is FIN, RSV and opcode; the payload is masked with mask unless
// masked is false; announcedLength, when set, replaces the real length in the header.
QByteArray clientFrame(quint8 firstByte, const QByteArray &payload, bool masked = true,
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

QByteArray text(const QByteArray &payload, bool fin = true)
{
    return clientFrame(fin ? 0x81 : 0x01, payload);
}

QByteArray continuation(const QByteArray &payload, bool fin)
{
    return clientFrame(fin ? 0x80 : 0x00, payload);
}

QByteArray closePayload(quint16 code, const QByteArray &reason = {})
{
    return QByteArray(1, char(code >> 8)) + char(code & 0xff) + reason;
}

// Records what the reader reports, one line per event.
class Recorder : public FrameReader::Handler
{
public:
    void textMessage(QByteArrayView message) override
    {
        events.append("text:" + message.toByteArray());
        if (pauseOnText && reader)
            reader->pause();
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
    FrameReader *reader = nullptr;
    bool pauseOnText = false;
};

// Feeds bytes the way an I/O thread does, whole or in pieces of at most chunk bytes: what
// the reader does not consume is kept and fed again with the next piece. Returns the bytes
// left unconsumed at the end.
qsizetype feedInPieces(FrameReader &reader, Recorder &recorder, const QByteArray &bytes,
                       qsizetype chunk)
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

QByteArray bytes(std::initializer_list<int> values)
{
    QByteArray result;
    for (const int value : values)
        result.append(char(value));
    return result;
}

// Unicode's table of well-formed UTF-8 byte sequences (Unicode 15, table 3-7), written
// independently of the code under test.
bool referenceUtf8(const QByteArray &data)
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
} // namespace

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
    void pauseStopsAfterTheCurrentMessage();
};

void tst_WebSocketFrames::acceptKeyOfTheRfcExample()
{
    // RFC 6455, section 1.3.
    QCOMPARE(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

void tst_WebSocketFrames::clientKeys_data()
{
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<bool>("valid");
    QTest::addRow("rfc example") << QByteArray("dGhlIHNhbXBsZSBub25jZQ==") << true;
    QTest::addRow("16 zero bytes") << QByteArray("AAAAAAAAAAAAAAAAAAAAAA==") << true;
    QTest::addRow("empty") << QByteArray() << false;
    QTest::addRow("23 characters") << QByteArray("dGhlIHNhbXBsZSBub25jZQ=") << false;
    QTest::addRow("25 characters") << QByteArray("dGhlIHNhbXBsZSBub25jZQ===") << false;
    QTest::addRow("18 bytes, no padding") << QByteArray("AAAAAAAAAAAAAAAAAAAAAAAA") << false;
    QTest::addRow("not base64") << QByteArray("dGhlIHNhbXBsZSBub25jZ!==") << false;
    QTest::addRow("space inside") << QByteArray("dGhlIHNhbXBsZSBub25j ==") << false;
    QTest::addRow("padding inside") << QByteArray("dGhlIHNh=XBsZSBub25jZQ==") << false;
}

void tst_WebSocketFrames::clientKeys()
{
    QFETCH(QByteArray, key);
    QFETCH(bool, valid);
    QCOMPARE(isValidClientKey(key), valid);
}

void tst_WebSocketFrames::utf8_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<bool>("valid");
    QTest::addRow("empty") << QByteArray() << true;
    QTest::addRow("ascii") << QByteArray("{\"type\":2}") << true;
    QTest::addRow("nul and del") << bytes({0x00, 0x7f}) << true;
    QTest::addRow("2 bytes") << bytes({0xc3, 0xa9}) << true;
    QTest::addRow("3 bytes") << bytes({0xe2, 0x82, 0xac}) << true;
    QTest::addRow("4 bytes") << bytes({0xf0, 0x9f, 0x98, 0x80}) << true;
    QTest::addRow("U+10FFFF, the largest") << bytes({0xf4, 0x8f, 0xbf, 0xbf}) << true;
    QTest::addRow("U+110000") << bytes({0xf4, 0x90, 0x80, 0x80}) << false;
    QTest::addRow("lead f5") << bytes({0xf5, 0x80, 0x80, 0x80}) << false;
    QTest::addRow("lead f7") << bytes({0xf7, 0xbf, 0xbf, 0xbf}) << false;
    QTest::addRow("5 bytes") << bytes({0xf8, 0x88, 0x80, 0x80, 0x80}) << false;
    QTest::addRow("6 bytes") << bytes({0xfc, 0x84, 0x80, 0x80, 0x80, 0x80}) << false;
    QTest::addRow("fe") << bytes({0xfe}) << false;
    QTest::addRow("ff") << bytes({0xff}) << false;
    QTest::addRow("overlong nul") << bytes({0xc0, 0x80}) << false;
    QTest::addRow("overlong c1") << bytes({0xc1, 0xbf}) << false;
    QTest::addRow("smallest 2 bytes") << bytes({0xc2, 0x80}) << true;
    QTest::addRow("overlong 3 bytes") << bytes({0xe0, 0x9f, 0xbf}) << false;
    QTest::addRow("smallest 3 bytes") << bytes({0xe0, 0xa0, 0x80}) << true;
    QTest::addRow("overlong 4 bytes") << bytes({0xf0, 0x8f, 0xbf, 0xbf}) << false;
    QTest::addRow("smallest 4 bytes") << bytes({0xf0, 0x90, 0x80, 0x80}) << true;
    QTest::addRow("U+D7FF") << bytes({0xed, 0x9f, 0xbf}) << true;
    QTest::addRow("U+D800") << bytes({0xed, 0xa0, 0x80}) << false;
    QTest::addRow("U+DFFF") << bytes({0xed, 0xbf, 0xbf}) << false;
    QTest::addRow("U+E000") << bytes({0xee, 0x80, 0x80}) << true;
    QTest::addRow("surrogate pair as CESU-8")
            << bytes({0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}) << false;
    QTest::addRow("lone continuation") << bytes({0x80}) << false;
    QTest::addRow("continuation after ascii") << QByteArray("abc") + bytes({0xbf}) << false;
    QTest::addRow("lead then ascii") << bytes({0xc3, 0x41}) << false;
    QTest::addRow("3 bytes, bad third") << bytes({0xe2, 0x82, 0x41}) << false;
    QTest::addRow("truncated 2 at end") << QByteArray("abc") + bytes({0xc3}) << false;
    QTest::addRow("truncated 3 at end") << QByteArray("abc") + bytes({0xe2, 0x82}) << false;
    QTest::addRow("truncated 4 at end") << QByteArray("abc") + bytes({0xf0, 0x9f, 0x98}) << false;
    QTest::addRow("truncated 4, one byte") << bytes({0xf0}) << false;
    // The fast path reads eight bytes at a time: characters and faults on each side of a
    // word's end, and in a last part shorter than a word.
    QTest::addRow("7 ascii, 2 bytes across the word")
            << QByteArray(7, 'a') + bytes({0xc3, 0xa9}) << true;
    QTest::addRow("6 ascii, 4 bytes across the word")
            << QByteArray(6, 'a') + bytes({0xf0, 0x9f, 0x98, 0x80}) << true;
    QTest::addRow("8 ascii, then 2 bytes") << QByteArray(8, 'a') + bytes({0xc3, 0xa9}) << true;
    QTest::addRow("8 ascii, then invalid") << QByteArray(8, 'a') + bytes({0x80}) << false;
    QTest::addRow("8 ascii, then truncated") << QByteArray(8, 'a') + bytes({0xe2, 0x82}) << false;
    QTest::addRow("invalid last of 16") << QByteArray(15, 'a') + bytes({0xff}) << false;
    QTest::addRow("invalid first of the second word")
            << QByteArray(8, 'a') + bytes({0xc0}) + QByteArray(7, 'a') << false;
    QTest::addRow("16 ascii") << QByteArray(16, 'a') << true;
    QTest::addRow("2 bytes ending a word, then ascii")
            << QByteArray(6, 'a') + bytes({0xc3, 0xa9}) + QByteArray(8, 'b') << true;
    QTest::addRow("surrogate after 24 ascii")
            << QByteArray(24, 'a') + bytes({0xed, 0xa0, 0x80}) << false;
    QTest::addRow("truncated 4 bytes after 13 ascii")
            << QByteArray(13, 'a') + bytes({0xf4, 0x8f, 0xbf}) << false;
}

void tst_WebSocketFrames::utf8()
{
    QFETCH(QByteArray, data);
    QFETCH(bool, valid);
    QCOMPARE(referenceUtf8(data), valid); // the row is right
    QCOMPARE(isValidUtf8(data), valid);
    // Only the view is read: continuation bytes after its end do not finish a character
    // cut at the end.
    const QByteArray padded = data + "\xa9\x80\xbf";
    QCOMPARE(isValidUtf8(QByteArrayView(padded.constData(), data.size())), valid);
}

// Every sequence of up to three bytes, and every four-byte one that starts with a lead of
// four, each at every offset from a word boundary.
void tst_WebSocketFrames::utf8AgreesWithUnicodesTable()
{
    int checked = 0;
    const auto check = [&checked](const QByteArray &sequence) {
        for (int offset = 0; offset < 8; offset += 3) {
            const QByteArray data = QByteArray(offset, 'x') + sequence;
            if (isValidUtf8(data) != referenceUtf8(data)) {
                QTest::qFail(qPrintable("disagrees on " + data.toHex(' ')), __FILE__, __LINE__);
                return false;
            }
            ++checked;
        }
        return true;
    };
    for (int a = 0; a < 256; ++a) {
        if (!check(bytes({a})))
            return;
        for (int b = 0; b < 256; ++b) {
            if (!check(bytes({a, b})))
                return;
        }
    }
    // Three bytes: a lead of three (or two, or four) with every second byte, and the third
    // byte from the boundaries of the continuation range.
    const QList<int> edges{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
    for (int a = 0xc0; a < 0x100; ++a) {
        for (int b = 0; b < 256; ++b) {
            for (const int c : edges) {
                if (!check(bytes({a, b, c})))
                    return;
                if (a >= 0xf0) {
                    for (const int d : edges) {
                        if (!check(bytes({a, b, c, d})))
                            return;
                    }
                }
            }
        }
    }
    QVERIFY(checked > 1000000);
}

void tst_WebSocketFrames::controlFrames()
{
    QCOMPARE(controlFrame(OpPing), bytes({0x89, 0x00}));
    QCOMPARE(controlFrame(OpPong, "abc"), bytes({0x8a, 0x03}) + "abc");
    QCOMPARE(controlFrame(OpPong, QByteArray(125, 'p')), bytes({0x8a, 125}) + QByteArray(125, 'p'));
    QCOMPARE(closeFrame(1000), bytes({0x88, 0x02, 0x03, 0xe8}));
    QCOMPARE(closeFrame(4321, "bye"), bytes({0x88, 0x05, 0x10, 0xe1}) + "bye");
}

void tst_WebSocketFrames::closeFrameCutsTheReasonOnACharacter_data()
{
    QTest::addColumn<QByteArray>("reason");
    QTest::addColumn<int>("kept");
    QTest::addRow("short") << QByteArray("going away") << 10;
    QTest::addRow("123 ascii, all of it") << QByteArray(123, 'a') << 123;
    QTest::addRow("200 ascii") << QByteArray(200, 'a') << 123;
    QTest::addRow("2 bytes across the end")
            << QByteArray(122, 'a') + bytes({0xc3, 0xa9}) + "tail" << 122;
    QTest::addRow("2 bytes ending at the end")
            << QByteArray(121, 'a') + bytes({0xc3, 0xa9}) + "tail" << 123;
    QTest::addRow("3 bytes across the end")
            << QByteArray(121, 'a') + bytes({0xe2, 0x82, 0xac}) + "tail" << 121;
    QTest::addRow("4 bytes across the end")
            << QByteArray(120, 'a') + bytes({0xf0, 0x9f, 0x98, 0x80}) + "tail" << 120;
    QTest::addRow("4 bytes, one byte past the end")
            << QByteArray(122, 'a') + bytes({0xf0, 0x9f, 0x98, 0x80}) << 122;
    QByteArray euros;
    for (int i = 0; i < 50; ++i)
        euros += bytes({0xe2, 0x82, 0xac});
    QTest::addRow("only 3-byte characters") << euros << 123;
}

void tst_WebSocketFrames::closeFrameCutsTheReasonOnACharacter()
{
    QFETCH(QByteArray, reason);
    QFETCH(int, kept);
    const QByteArray frame = closeFrame(1008, reason);
    QCOMPARE(frame.size(), 2 + 2 + kept);
    QCOMPARE(uchar(frame.at(0)), uchar(0x88));
    QCOMPARE(int(uchar(frame.at(1))), 2 + kept);
    QCOMPARE(frame.mid(2, 2), bytes({0x03, 0xf0}));
    const QByteArray sent = frame.mid(4);
    QCOMPARE(sent, reason.left(kept));
    QVERIFY(isValidUtf8(sent));
}

void tst_WebSocketFrames::readsOneTextFrame()
{
    FrameReader reader;
    Recorder recorder;
    QByteArray frame = text("{\"type\":2}");
    QCOMPARE(reader.feed(frame.data(), frame.size(), &recorder), frame.size());
    QCOMPARE(recorder.events, QList<QByteArray>{"text:{\"type\":2}"});
    QVERIFY(!reader.isFinished());
    QCOMPARE(reader.heldBytes(), 0);
}

void tst_WebSocketFrames::readsEveryLengthEncoding_data()
{
    QTest::addColumn<int>("length");
    QTest::addColumn<int>("headerSize");
    QTest::addRow("0") << 0 << 6;
    QTest::addRow("125, the largest in 7 bits") << 125 << 6;
    QTest::addRow("126, the smallest in 16 bits") << 126 << 8;
    QTest::addRow("65535, the largest in 16 bits") << 65535 << 8;
    QTest::addRow("65536, in 64 bits") << 65536 << 14;
    QTest::addRow("200000") << 200000 << 14;
}

void tst_WebSocketFrames::readsEveryLengthEncoding()
{
    QFETCH(int, length);
    QFETCH(int, headerSize);
    QByteArray payload(length, Qt::Uninitialized);
    for (int i = 0; i < length; ++i)
        payload[i] = char('a' + i % 26);
    QByteArray frame = text(payload);
    QCOMPARE(frame.size(), headerSize + length);
    FrameReader reader;
    Recorder recorder;
    QCOMPARE(reader.feed(frame.data(), frame.size(), &recorder), frame.size());
    QCOMPARE(recorder.events, QList<QByteArray>{"text:" + payload});
}

// The mask is applied eight bytes at a time, then byte by byte: every length of a tail.
void tst_WebSocketFrames::unmasksOddLengths()
{
    for (int length = 1; length <= 25; ++length) {
        QByteArray payload;
        for (int i = 0; i < length; ++i)
            payload.append(char('A' + i));
        for (const QByteArray &mask :
             {QByteArray("\x01\x02\x03\x04"), QByteArray("\xff\x00\xa5\x5a", 4)}) {
            QByteArray frame = clientFrame(0x81, payload, true, std::nullopt, mask);
            FrameReader reader;
            Recorder recorder;
            QCOMPARE(reader.feed(frame.data(), frame.size(), &recorder), frame.size());
            QCOMPARE(recorder.events, QList<QByteArray>{"text:" + payload});
        }
    }
}

void tst_WebSocketFrames::waitsForWholeFramesFedByteByByte_data()
{
    QTest::addColumn<int>("length");
    QTest::addRow("7-bit length") << 100;
    QTest::addRow("16-bit length") << 300;
    QTest::addRow("64-bit length") << 70000;
}

void tst_WebSocketFrames::waitsForWholeFramesFedByteByByte()
{
    QFETCH(int, length);
    const QByteArray payload(length, 'z');
    const QByteArray frame = text(payload);
    FrameReader reader;
    Recorder recorder;
    QByteArray held;
    for (qsizetype i = 0; i < frame.size(); ++i) {
        held.append(frame.at(i));
        const qsizetype used = reader.feed(held.data(), held.size(), &recorder);
        if (i + 1 < frame.size()) {
            // Nothing is consumed, or reported, until the frame is whole.
            if (used != 0 || !recorder.events.isEmpty())
                QFAIL(qPrintable(QStringLiteral("byte %1 of %2: consumed %3")
                                         .arg(i + 1)
                                         .arg(frame.size())
                                         .arg(used)));
            continue;
        }
        QCOMPARE(used, frame.size());
    }
    QCOMPARE(recorder.events, QList<QByteArray>{"text:" + payload});
}

void tst_WebSocketFrames::readsSeveralFramesInOneFeed()
{
    const QByteArray whole = text("one") + clientFrame(0x89, "p") + text("two")
            + clientFrame(0x82, "bin") + clientFrame(0x8a, "ignored") + text("three");
    const QByteArray partial = text("four").left(5);
    QByteArray data = whole + partial;
    FrameReader reader;
    Recorder recorder;
    QCOMPARE(reader.feed(data.data(), data.size(), &recorder), whole.size());
    QCOMPARE(recorder.events,
             (QList<QByteArray>{"text:one", "ping:p", "text:two", "binary", "pong", "text:three"}));
    // The same bytes in every split give the same events.
    for (const qsizetype chunk : {1, 2, 3, 7, 13, 64}) {
        FrameReader pieces;
        Recorder recorded;
        QCOMPARE(feedInPieces(pieces, recorded, whole + partial, chunk), partial.size());
        QCOMPARE(recorded.events, recorder.events);
    }
}

void tst_WebSocketFrames::reassemblesFragmentedTextAroundAPing()
{
    FrameReader reader;
    Recorder recorder;
    QByteArray first = text("{\"type\":", false);
    QCOMPARE(reader.feed(first.data(), first.size(), &recorder), first.size());
    QCOMPARE(reader.heldBytes(), 8);
    QVERIFY(recorder.events.isEmpty());
    QByteArray rest = clientFrame(0x89, "between") + continuation("2,\"data\"", false)
            + clientFrame(0x8a, "") + continuation(":{}}", true);
    QCOMPARE(reader.feed(rest.data(), rest.size(), &recorder), rest.size());
    QCOMPARE(recorder.events,
             (QList<QByteArray>{"ping:between", "pong", "text:{\"type\":2,\"data\":{}}"}));
    QCOMPARE(reader.heldBytes(), 0);
    // A character cut between two fragments is whole in the message.
    Recorder split;
    QByteArray euro = text("price \xe2\x82", false) + continuation("\xac", true);
    QCOMPARE(reader.feed(euro.data(), euro.size(), &split), euro.size());
    QCOMPARE(split.events, QList<QByteArray>{"text:price \xe2\x82\xac"});
}

void tst_WebSocketFrames::countsFragmentedBinaryWithoutKeepingIt()
{
    FrameReader reader(1000);
    Recorder recorder;
    QByteArray data = clientFrame(0x02, QByteArray(400, 'b')) + clientFrame(0x89, "x")
            + continuation(QByteArray(400, 'b'), false);
    QCOMPARE(reader.feed(data.data(), data.size(), &recorder), data.size());
    QCOMPARE(reader.heldBytes(), 0);
    QCOMPARE(recorder.events, QList<QByteArray>{"ping:x"});
    QByteArray last = continuation(QByteArray(200, 'b'), true);
    QCOMPARE(reader.feed(last.data(), last.size(), &recorder), last.size());
    QCOMPARE(recorder.events, (QList<QByteArray>{"ping:x", "binary"}));
    // Its size counted towards the limit: 400 + 400 + 201 is too much.
    QByteArray tooMuch = clientFrame(0x02, QByteArray(400, 'b'))
            + continuation(QByteArray(400, 'b'), false) + continuation(QByteArray(201, 'b'), true);
    Recorder refused;
    FrameReader again(1000);
    again.feed(tooMuch.data(), tooMuch.size(), &refused);
    QCOMPARE(refused.events, QList<QByteArray>{"error:1009"});
}

void tst_WebSocketFrames::brokenFramesAreProtocolErrors_data()
{
    QTest::addColumn<QByteArray>("valid");
    QTest::addColumn<QByteArray>("broken");
    QTest::addColumn<int>("code");
    const QByteArray ok = text("fine");
    QTest::addRow("continuation without a start") << ok << continuation("x", true) << 1002;
    QTest::addRow("unfinished continuation without a start")
            << ok << continuation("x", false) << 1002;
    QTest::addRow("text inside a fragmented text") << ok + text("a", false) << text("b") << 1002;
    QTest::addRow("binary inside a fragmented text")
            << ok + text("a", false) << clientFrame(0x82, "b") << 1002;
    QTest::addRow("text inside a fragmented binary")
            << ok + clientFrame(0x02, "a") << text("b", false) << 1002;
    QTest::addRow("unmasked") << ok << clientFrame(0x81, "x", false) << 1002;
    QTest::addRow("unmasked ping") << ok << clientFrame(0x89, "x", false) << 1002;
    QTest::addRow("rsv1") << ok << clientFrame(0xc1, "x") << 1002;
    QTest::addRow("rsv2") << ok << clientFrame(0xa1, "x") << 1002;
    QTest::addRow("rsv3") << ok << clientFrame(0x91, "x") << 1002;
    QTest::addRow("rsv on a ping") << ok << clientFrame(0xc9, "x") << 1002;
    for (int opcode : {3, 4, 5, 6, 7})
        QTest::addRow("data opcode %d", opcode) << ok << clientFrame(0x80 | opcode, "x") << 1002;
    for (int opcode : {0xb, 0xc, 0xd, 0xe, 0xf})
        QTest::addRow("control opcode %d", opcode) << ok << clientFrame(0x80 | opcode, "") << 1002;
    QTest::addRow("ping of 126 bytes") << ok << clientFrame(0x89, QByteArray(126, 'p')) << 1002;
    QTest::addRow("close of 126 bytes")
            << ok << clientFrame(0x88, closePayload(1000, QByteArray(124, 'r'))) << 1002;
    QTest::addRow("pong of 126 bytes") << ok << clientFrame(0x8a, QByteArray(126, 'p')) << 1002;
    QTest::addRow("ping without fin") << ok << clientFrame(0x09, "p") << 1002;
    QTest::addRow("close without fin") << ok << clientFrame(0x08, closePayload(1000)) << 1002;
    QTest::addRow("length with the top bit")
            << ok << clientFrame(0x81, "x", true, quint64(1) << 63) << 1002;
}

// The fault is reported once its header is in, whatever follows, and only after the
// frames before it.
void tst_WebSocketFrames::brokenFramesAreProtocolErrors()
{
    QFETCH(QByteArray, valid);
    QFETCH(QByteArray, broken);
    QFETCH(int, code);
    const QByteArray error = "error:" + QByteArray::number(code);
    for (const qsizetype chunk : {qsizetype(1), qsizetype(5), qsizetype(4096)}) {
        FrameReader reader;
        Recorder recorder;
        feedInPieces(reader, recorder, valid + broken + text("after"), chunk);
        QVERIFY(reader.isFinished());
        QCOMPARE(recorder.events, (QList<QByteArray>{"text:fine", error}));
        QCOMPARE(reader.heldBytes(), 0);
    }
}

void tst_WebSocketFrames::maxMessageSizeOfOneFrameFromItsHeader()
{
    for (const qint64 announced : {qint64(101), qint64(1) << 16, qint64(1) << 40}) {
        FrameReader reader(100);
        Recorder recorder;
        // The header and the mask, not one byte of the payload.
        QByteArray header = clientFrame(0x81, QByteArray(), true, quint64(announced));
        QCOMPARE(reader.feed(header.data(), header.size(), &recorder), 0);
        QCOMPARE(recorder.events, QList<QByteArray>{"error:1009"});
        QVERIFY(reader.isFinished());
    }
    FrameReader reader(100);
    Recorder recorder;
    QByteArray exact = text(QByteArray(100, 'x')) + clientFrame(0x82, QByteArray(100, 'x'));
    QCOMPARE(reader.feed(exact.data(), exact.size(), &recorder), exact.size());
    QCOMPARE(recorder.events, (QList<QByteArray>{"text:" + QByteArray(100, 'x'), "binary"}));
    // Control frames are not messages: a ping of 125 bytes passes a limit of 100.
    Recorder pinged;
    QByteArray ping = clientFrame(0x89, QByteArray(125, 'p'));
    QCOMPARE(reader.feed(ping.data(), ping.size(), &pinged), ping.size());
    QCOMPARE(pinged.events, QList<QByteArray>{"ping:" + QByteArray(125, 'p')});
}

void tst_WebSocketFrames::maxMessageSizeAcrossFragments_data()
{
    QTest::addColumn<quint8>("opcode");
    QTest::addRow("text") << quint8(OpText);
    QTest::addRow("binary") << quint8(OpBinary);
}

void tst_WebSocketFrames::maxMessageSizeAcrossFragments()
{
    QFETCH(quint8, opcode);
    {
        FrameReader reader(100);
        Recorder recorder;
        QByteArray first = clientFrame(opcode, QByteArray(60, 'x'));
        QCOMPARE(reader.feed(first.data(), first.size(), &recorder), first.size());
        // 60 + 41: refused from the second header, before its payload.
        QByteArray second = clientFrame(0x80, QByteArray(), true, 41);
        QCOMPARE(reader.feed(second.data(), second.size(), &recorder), 0);
        QCOMPARE(recorder.events, QList<QByteArray>{"error:1009"});
        QCOMPARE(reader.heldBytes(), 0);
    }
    FrameReader reader(100);
    Recorder recorder;
    QByteArray data = clientFrame(opcode, QByteArray(60, 'x')) + clientFrame(0x89, "")
            + continuation(QByteArray(40, 'x'), true) + clientFrame(opcode, QByteArray(70, 'y'))
            + continuation(QByteArray(30, 'y'), true);
    QCOMPARE(reader.feed(data.data(), data.size(), &recorder), data.size());
    const QList<QByteArray> expected = opcode == OpText
            ? QList<QByteArray>{"ping:", "text:" + QByteArray(60, 'x') + QByteArray(40, 'x'),
                                "text:" + QByteArray(100, 'y')}
            : QList<QByteArray>{"ping:", "binary", "binary"};
    QCOMPARE(recorder.events, expected);
}

void tst_WebSocketFrames::noLimitWhenMaxMessageSizeIsZero()
{
    FrameReader reader(0);
    Recorder recorder;
    QByteArray data = text(QByteArray(300000, 'n'), false) + continuation("!", true);
    QCOMPARE(reader.feed(data.data(), data.size(), &recorder), data.size());
    QCOMPARE(recorder.events, QList<QByteArray>{"text:" + QByteArray(300000, 'n') + '!'});
}

void tst_WebSocketFrames::closeFrames_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QByteArray>("event");
    QTest::addRow("no payload") << QByteArray() << QByteArray("close:1005:");
    QTest::addRow("one byte") << QByteArray("\x03") << QByteArray("error:1002");
    QTest::addRow("1000") << closePayload(1000) << QByteArray("close:1000:");
    QTest::addRow("1000 with a reason") << closePayload(1000, "done \xe2\x82\xac")
                                        << QByteArray("close:1000:done \xe2\x82\xac");
    for (const int code : {1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1014, 3000, 4999})
        QTest::addRow("%d", code) << closePayload(code)
                                  << "close:" + QByteArray::number(code) + ':';
    for (const int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
        QTest::addRow("invalid %d", code) << closePayload(code) << QByteArray("error:1002");
    QTest::addRow("reason not UTF-8") << closePayload(1000, "\xc3\x28") << QByteArray("error:1007");
    QTest::addRow("reason cut in a character")
            << closePayload(1000, "\xe2\x82") << QByteArray("error:1007");
}

void tst_WebSocketFrames::closeFrames()
{
    QFETCH(QByteArray, payload);
    QFETCH(QByteArray, event);
    FrameReader reader;
    Recorder recorder;
    QByteArray data = clientFrame(0x88, payload);
    QCOMPARE(reader.feed(data.data(), data.size(), &recorder), data.size());
    QCOMPARE(recorder.events, QList<QByteArray>{event});
    QVERIFY(reader.isFinished());
}

void tst_WebSocketFrames::readsNothingAfterCloseOrError_data()
{
    QTest::addColumn<QByteArray>("last");
    QTest::addColumn<bool>("consumed");
    QTest::addRow("close") << clientFrame(0x88, closePayload(1000)) << true;
    QTest::addRow("invalid close") << clientFrame(0x88, closePayload(1)) << true;
    QTest::addRow("protocol error") << clientFrame(0xc1, "x") << false;
    QTest::addRow("invalid text") << text("\xff") << true;
    QTest::addRow("too large") << clientFrame(0x82, QByteArray(2000, 'x')) << false;
}

void tst_WebSocketFrames::readsNothingAfterCloseOrError()
{
    QFETCH(QByteArray, last);
    QFETCH(bool, consumed);
    FrameReader reader(1000);
    Recorder recorder;
    QByteArray data = text("before") + last + text("after") + clientFrame(0x89, "p");
    const qsizetype used = reader.feed(data.data(), data.size(), &recorder);
    QCOMPARE(used, text("before").size() + (consumed ? last.size() : 0));
    QVERIFY(reader.isFinished());
    QCOMPARE(recorder.events.size(), 2);
    QCOMPARE(recorder.events.first(), QByteArray("text:before"));
    // Fed again, with the rest or anything else: nothing.
    QByteArray more = text("more");
    QCOMPARE(reader.feed(data.data() + used, data.size() - used, &recorder), 0);
    QCOMPARE(reader.feed(more.data(), more.size(), &recorder), 0);
    QCOMPARE(recorder.events.size(), 2);
    QCOMPARE(reader.heldBytes(), 0);
}

void tst_WebSocketFrames::fragmentsAreGivenBackWhenTheReaderFinishes_data()
{
    QTest::addColumn<QByteArray>("last");
    QTest::addColumn<QByteArray>("event");
    QTest::addRow("close") << clientFrame(0x88, closePayload(1000)) << QByteArray("close:1000:");
    QTest::addRow("close without a code") << clientFrame(0x88, "") << QByteArray("close:1005:");
    QTest::addRow("close of one byte") << clientFrame(0x88, "\x03") << QByteArray("error:1002");
    QTest::addRow("close with an invalid code")
            << clientFrame(0x88, closePayload(1005)) << QByteArray("error:1002");
    QTest::addRow("close with a reason not UTF-8")
            << clientFrame(0x88, closePayload(1000, "\xff")) << QByteArray("error:1007");
    QTest::addRow("protocol error") << clientFrame(0x89, "p", false) << QByteArray("error:1002");
}

// The part of a message received so far is not kept once nothing more will be read.
void tst_WebSocketFrames::fragmentsAreGivenBackWhenTheReaderFinishes()
{
    QFETCH(QByteArray, last);
    QFETCH(QByteArray, event);
    FrameReader reader;
    Recorder recorder;
    const qsizetype first = text(QByteArray(500, 'f'), false).size();
    QByteArray data = text(QByteArray(500, 'f'), false) + last;
    QCOMPARE(reader.feed(data.data(), first, &recorder), first);
    QCOMPARE(reader.heldBytes(), 500);
    reader.feed(data.data() + first, data.size() - first, &recorder);
    QCOMPARE(recorder.events, QList<QByteArray>{event});
    QVERIFY(reader.isFinished());
    QCOMPARE(reader.heldBytes(), 0);
}

void tst_WebSocketFrames::invalidUtf8TextIs1007_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addRow("single frame") << text("{\"s\":\"\xc3\x28\"}");
    QTest::addRow("surrogate") << text("\xed\xa0\x80");
    QTest::addRow("cut at the end") << text("abc\xe2\x82");
    QTest::addRow("fragmented, fault in the first")
            << text("\xff", false) + continuation("fine", true);
    QTest::addRow("fragmented, fault in the last")
            << text("fine", false) + continuation("fine", false) + continuation("\xc0\xaf", true);
    QTest::addRow("fragmented, a character never finished")
            << text("abc\xe2", false) + continuation("\x82", true);
}

void tst_WebSocketFrames::invalidUtf8TextIs1007()
{
    QFETCH(QByteArray, data);
    FrameReader reader;
    Recorder recorder;
    reader.feed(data.data(), data.size(), &recorder);
    QCOMPARE(recorder.events, QList<QByteArray>{"error:1007"});
    QVERIFY(reader.isFinished());
    QCOMPARE(reader.heldBytes(), 0);
}

void tst_WebSocketFrames::pauseStopsAfterTheCurrentMessage()
{
    FrameReader reader;
    Recorder recorder;
    recorder.reader = &reader;
    recorder.pauseOnText = true;
    const QByteArray one = text("one");
    QByteArray data = one + text("two");
    QCOMPARE(reader.feed(data.data(), data.size(), &recorder), one.size());
    QCOMPARE(recorder.events, QList<QByteArray>{"text:one"});
    QCOMPARE(reader.feed(data.data() + one.size(), data.size() - one.size(), &recorder),
             data.size() - one.size());
    QCOMPARE(recorder.events, (QList<QByteArray>{"text:one", "text:two"}));
}

QTEST_APPLESS_MAIN(tst_WebSocketFrames)
#include "tst_websocketframes.moc"
