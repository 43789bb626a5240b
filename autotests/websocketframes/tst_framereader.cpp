// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The reader of what clients send (QStateSyncWebSocket::FrameReader): masks, lengths,
// fragments, control frames between fragments, limits, close codes, fed whole, in pieces
// and byte by byte.

#include "websocketframestest.h"

using namespace QStateSyncWebSocket;
using namespace FramesTest;

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
