// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "qstatesyncprotocol_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtTest/qtest.h>

using namespace QStateSyncProtocol;
using QStateSync::Error;

class tst_Protocol : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void decodesValidMessages();
    void refusesMalformedMessages_data();
    void refusesMalformedMessages();
    void nestingLimitIsTheWholeMessage();
    void encodersProduceTheDocumentedShapes();
    void broadcastAddsRequestIdOnlyWhenAsked();
    void broadcastFrameIsTheFramedMessage_data();
    void broadcastFrameIsTheFramedMessage();
    void largeMessagesAreSentInFragments();
    void textFrameLengths_data();
    void textFrameLengths();
    void errorCodesRoundTrip();
};

void tst_Protocol::decodesValidMessages()
{
    ClientMessage join = decodeClientMessage(
            QByteArrayView(R"({"type":2,"data":{"stateIdentifier":"abc"}})"), 64);
    QVERIFY(join.isValid());
    QCOMPARE(join.type, 2);
    QCOMPARE(join.stateIdentifier, QStringLiteral("abc"));

    ClientMessage update = decodeClientMessage(
            QByteArrayView(R"({"type":3,"data":{"updates":{"a":{"b":1}},"requestId":7}})"), 64);
    QVERIFY(update.isValid());
    QCOMPARE(update.updates.value("a").toObject().value("b").toInt(), 1);
    QCOMPARE(update.requestId.toInteger(), 7);

    ClientMessage v1Update
            = decodeClientMessage(QByteArrayView(R"({"type":3,"data":{"updates":{}}})"), 64);
    QVERIFY(v1Update.isValid());
    QVERIFY(v1Update.requestId.isUndefined());

    ClientMessage append = decodeClientMessage(
            QByteArrayView(R"({"type":20,"data":{"appends":{"m":[1,2]},"requestId":"r1"}})"), 64);
    QVERIFY(append.isValid());
    QCOMPARE(append.appends.value("m").toArray().size(), 2);
    QCOMPARE(append.requestId.toString(), QStringLiteral("r1"));

    ClientMessage leave = decodeClientMessage(QStringView(u"{\"type\":21,\"data\":null}"), 64);
    QVERIFY(leave.isValid());
    QCOMPARE(leave.type, 21);
}

void tst_Protocol::refusesMalformedMessages_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<Error>("error");
    QTest::addColumn<int>("replyType");

    QTest::addRow("not json") << QByteArray("hello") << Error::InvalidJson << 25;
    QTest::addRow("truncated json")
            << QByteArray(R"({"type":3,"data":{"upd)") << Error::InvalidJson << 25;
    QTest::addRow("empty") << QByteArray("") << Error::InvalidJson << 25;
    QTest::addRow("huge number") << QByteArray(R"({"type":1e400})") << Error::InvalidJson << 25;
    QTest::addRow("array") << QByteArray("[1,2]") << Error::InvalidMessage << 25;
    QTest::addRow("string") << QByteArray(R"("x")") << Error::InvalidJson << 25;
    QTest::addRow("no type") << QByteArray(R"({"data":{}})") << Error::InvalidMessage << 25;
    QTest::addRow("type string") << QByteArray(R"({"type":"3","data":{}})") << Error::InvalidMessage
                                 << 25;
    QTest::addRow("type fraction")
            << QByteArray(R"({"type":2.5,"data":{}})") << Error::InvalidMessage << 25;
    QTest::addRow("type huge") << QByteArray(R"({"type":1e300,"data":{}})") << Error::InvalidMessage
                               << 25;
    QTest::addRow("type null") << QByteArray(R"({"type":null})") << Error::InvalidMessage << 25;
    QTest::addRow("unknown type") << QByteArray(R"({"type":99,"data":{}})")
                                  << Error::UnsupportedMessageType << 10;
    QTest::addRow("exchange identifier is unused")
            << QByteArray(R"({"type":1,"data":{}})") << Error::UnsupportedMessageType << 10;
    QTest::addRow("negative type")
            << QByteArray(R"({"type":-3})") << Error::UnsupportedMessageType << 10;
    QTest::addRow("data string") << QByteArray(R"({"type":2,"data":"abc"})")
                                 << Error::InvalidMessage << 8;
    QTest::addRow("data array") << QByteArray(R"({"type":3,"data":[1]})") << Error::InvalidMessage
                                << 9;
    QTest::addRow("join without data")
            << QByteArray(R"({"type":2})") << Error::MissingStateIdentifier << 8;
    QTest::addRow("join empty identifier")
            << QByteArray(R"({"type":2,"data":{"stateIdentifier":""}})")
            << Error::MissingStateIdentifier << 8;
    QTest::addRow("join identifier number")
            << QByteArray(R"({"type":2,"data":{"stateIdentifier":5}})") << Error::InvalidMessage
            << 8;
    QTest::addRow("join identifier object")
            << QByteArray(R"({"type":2,"data":{"stateIdentifier":{}}})") << Error::InvalidMessage
            << 8;
    QTest::addRow("join identifier too long") << QByteArray(
            "{\"type\":2,\"data\":{\"stateIdentifier\":\"" + QByteArray(2000, 'x') + "\"}}")
                                              << Error::InvalidMessage << 8;
    QTest::addRow("update without data")
            << QByteArray(R"({"type":3})") << Error::MissingUpdates << 9;
    QTest::addRow("update without updates")
            << QByteArray(R"({"type":3,"data":{}})") << Error::MissingUpdates << 9;
    QTest::addRow("updates null") << QByteArray(R"({"type":3,"data":{"updates":null}})")
                                  << Error::MissingUpdates << 9;
    QTest::addRow("updates string")
            << QByteArray(R"({"type":3,"data":{"updates":"x"}})") << Error::InvalidMessage << 9;
    QTest::addRow("updates array")
            << QByteArray(R"({"type":3,"data":{"updates":[1]}})") << Error::InvalidMessage << 9;
    QTest::addRow("updates number")
            << QByteArray(R"({"type":3,"data":{"updates":1}})") << Error::InvalidMessage << 9;
    QTest::addRow("updates bool") << QByteArray(R"({"type":3,"data":{"updates":true}})")
                                  << Error::InvalidMessage << 9;
    QTest::addRow("request id object")
            << QByteArray(R"({"type":3,"data":{"updates":{},"requestId":{}}})")
            << Error::InvalidMessage << 9;
    QTest::addRow("request id bool")
            << QByteArray(R"({"type":3,"data":{"updates":{},"requestId":true}})")
            << Error::InvalidMessage << 9;
    QTest::addRow("request id too long") << QByteArray(
            "{\"type\":3,\"data\":{\"updates\":{},\"requestId\":\"" + QByteArray(300, 'r') + "\"}}")
                                         << Error::InvalidMessage << 9;
    QTest::addRow("append without appends")
            << QByteArray(R"({"type":20,"data":{}})") << Error::MissingUpdates << 9;
    QTest::addRow("append empty") << QByteArray(R"({"type":20,"data":{"appends":{}}})")
                                  << Error::MissingUpdates << 9;
    QTest::addRow("append item not in array")
            << QByteArray(R"({"type":20,"data":{"appends":{"m":{"t":1}}}})")
            << Error::InvalidMessage << 9;
    QTest::addRow("append array") << QByteArray(R"({"type":20,"data":{"appends":[1]}})")
                                  << Error::InvalidMessage << 9;
    QTest::addRow("too deep update")
            << QByteArray("{\"type\":3,\"data\":{\"updates\":{\"a\":" + QByteArray(70, '[')
                          + QByteArray(70, ']') + "}}}")
            << Error::NestingTooDeep << 9;
    QTest::addRow("too deep beyond the parser")
            << QByteArray("{\"type\":3,\"data\":{\"updates\":{\"a\":" + QByteArray(5000, '[')
                          + QByteArray(5000, ']') + "}}}")
            << Error::NestingTooDeep << 25;
}

void tst_Protocol::refusesMalformedMessages()
{
    QFETCH(QByteArray, text);
    QFETCH(Error, error);
    QFETCH(int, replyType);
    const ClientMessage message = decodeClientMessage(QByteArrayView(text), 64);
    QVERIFY(!message.isValid());
    QCOMPARE(message.error, error);
    QCOMPARE(message.replyType, replyType);
    QVERIFY(!message.errorMessage.isEmpty());
    // The same text arriving as a QString decodes the same way.
    const ClientMessage fromString = decodeClientMessage(QStringView(QString::fromUtf8(text)), 64);
    QCOMPARE(fromString.error, error);
}

void tst_Protocol::nestingLimitIsTheWholeMessage()
{
    // {"type":3,"data":{"updates":X}}: X at depth d makes the message d + 2 deep.
    auto messageWithDepth = [](int depth) {
        QByteArray nested = "1";
        for (int i = 0; i < depth - 3; ++i)
            nested = "[" + nested + "]";
        return "{\"type\":3,\"data\":{\"updates\":{\"a\":" + nested + "},\"requestId\":4}}";
    };
    QVERIFY(decodeClientMessage(QByteArrayView(messageWithDepth(64)), 64).isValid());
    const ClientMessage deeper = decodeClientMessage(QByteArrayView(messageWithDepth(65)), 64);
    QCOMPARE(deeper.error, Error::NestingTooDeep);
    QCOMPARE(deeper.requestId.toInteger(), 4); // the sender can tell which update failed
}

void tst_Protocol::encodersProduceTheDocumentedShapes()
{
    auto parse = [](const QByteArray &text) { return QJsonDocument::fromJson(text).object(); };

    QCOMPARE(parse(encodeConnectToState("s")),
             parse(R"({"type":2,"data":{"stateIdentifier":"s"}})"));
    QCOMPARE(parse(encodeUpdateState(QJsonObject{{"a", 1}}, 5)),
             parse(R"({"type":3,"data":{"updates":{"a":1},"requestId":5}})"));
    QCOMPARE(parse(encodeUpdateState(QJsonObject{{"a", 1}}, QJsonValue::Undefined)),
             parse(R"({"type":3,"data":{"updates":{"a":1}}})"));
    QCOMPARE(parse(encodeAppendToState(QJsonObject{{"m", QJsonArray{1}}}, "r")),
             parse(R"({"type":20,"data":{"appends":{"m":[1]},"requestId":"r"}})"));
    QCOMPARE(parse(encodeLeaveState()), parse(R"({"type":21,"data":{}})"));
    QCOMPARE(parse(encodeConnectionEstablished("s", QJsonObject{{"a", 1}}, 3,
                                               QStateSync::MergeMode::Shallow)),
             parse(R"({"type":7,"data":{"state":{"a":1},"stateIdentifier":"s","version":3,)"
                   R"("mergeMode":"shallow"}})"));
    QCOMPARE(parse(encodeError(9, Error::UpdateRefused, "no", 8)),
             parse(R"({"type":9,"data":{"message":"no","code":"update_refused","requestId":8}})"));
    QCOMPARE(parse(encodeError(8, Error::StateNotFound, "gone", QJsonValue::Undefined, "s")),
             parse(R"({"type":8,"data":{"message":"gone","code":"state_not_found",)"
                   R"("stateIdentifier":"s"}})"));
    QCOMPARE(parse(encodeStateRemoved("s", QStateSync::RemovalReason::Ttl)),
             parse(R"({"type":24,"data":{"stateIdentifier":"s","reason":"ttl"}})"));
    QCOMPARE(parse(encodeStateLeft("s")), parse(R"({"type":23,"data":{"stateIdentifier":"s"}})"));
}

void tst_Protocol::broadcastAddsRequestIdOnlyWhenAsked()
{
    const quint64 before = Broadcast::encodedCount();
    // Text that needs escaping: a quote and a non-ASCII letter.
    const QString text = QStringLiteral("\u00e9\"x");
    const Broadcast update(MessageType::StateUpdated, QJsonObject{{"a", text}}, 12);
    QCOMPARE(Broadcast::encodedCount(), before + 1);
    auto parse = [](const QByteArray &text) { return QJsonDocument::fromJson(text).object(); };
    const QJsonObject updates{{"a", text}};
    QJsonObject expected{{"type", 3}, {"data", QJsonObject{{"updates", updates}, {"version", 12}}}};
    QCOMPARE(parse(update.message()), expected);
    QJsonObject data = expected.value("data").toObject();
    data.insert("requestId", "id-1");
    expected.insert("data", data);
    QCOMPARE(parse(update.message(QJsonValue("id-1"))), expected);
    data.insert("requestId", 42);
    expected.insert("data", data);
    QCOMPARE(parse(update.message(42)), expected);
    // Adding the request id encodes nothing again.
    QCOMPARE(Broadcast::encodedCount(), before + 1);

    const Broadcast append(MessageType::StateAppended, QJsonObject{{"m", QJsonArray{1}}}, 1);
    QCOMPARE(parse(append.message()),
             parse(R"({"type":22,"data":{"appends":{"m":[1]},"version":1}})"));
}

void tst_Protocol::broadcastFrameIsTheFramedMessage_data()
{
    QTest::addColumn<qsizetype>("textSize");
    QTest::addColumn<QJsonValue>("requestId");
    // Around each length encoding (7, 16 and 64 bits) and the fragmenting limit.
    const qsizetype sizes[]
            = {0, 60, 90, 200, 65400, 65500, MaxFramePayload, 70000, 2 * MaxFramePayload};
    for (const qsizetype size : sizes) {
        QTest::addRow("%lld bytes", qlonglong(size)) << size << QJsonValue();
        QTest::addRow("%lld bytes, integer id", qlonglong(size)) << size << QJsonValue(7);
        QTest::addRow("%lld bytes, text id", qlonglong(size))
                << size << QJsonValue(QStringLiteral("r\u00e9q\"1"));
    }
}

void tst_Protocol::broadcastFrameIsTheFramedMessage()
{
    QFETCH(qsizetype, textSize);
    QFETCH(QJsonValue, requestId);
    const Broadcast update(MessageType::StateUpdated,
                           QJsonObject{{"a", QString(textSize, QLatin1Char('y'))}}, 3);
    QCOMPARE(update.frame(requestId), textFrame(update.message(requestId)));
}

void tst_Protocol::largeMessagesAreSentInFragments()
{
    // 3 whole fragments and a short one: text without FIN, continuations, FIN on the last.
    QByteArray payload(3 * MaxFramePayload + 100, 'x');
    for (qsizetype i = 0; i < payload.size(); i += 7)
        payload[i] = char('a' + i % 26);
    const QByteArray bytes = textFrame(payload);
    QByteArray reassembled;
    QList<int> firstBytes;
    qsizetype offset = 0;
    while (offset < bytes.size()) {
        const uchar first = uchar(bytes.at(offset));
        const uchar lengthByte = uchar(bytes.at(offset + 1));
        QVERIFY(lengthByte & 0x7f); // never masked, never empty
        qsizetype header = 2;
        quint64 length = lengthByte;
        if (lengthByte == 126 || lengthByte == 127) {
            header = lengthByte == 126 ? 4 : 10;
            length = 0;
            for (qsizetype i = 2; i < header; ++i)
                length = (length << 8) | uchar(bytes.at(offset + i));
        }
        QVERIFY(length <= quint64(MaxFramePayload));
        firstBytes.append(first);
        reassembled += bytes.mid(offset + header, qsizetype(length));
        offset += header + qsizetype(length);
    }
    QCOMPARE(offset, bytes.size());
    QCOMPARE(firstBytes, QList<int>({0x01, 0x00, 0x00, 0x80}));
    QCOMPARE(reassembled, payload);
    // Up to the limit, one frame.
    QCOMPARE(uchar(textFrame(QByteArray(MaxFramePayload, 'y')).at(0)), uchar(0x81));
}

void tst_Protocol::textFrameLengths_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("headerSize");
    QTest::addRow("empty") << 0 << 2;
    QTest::addRow("125") << 125 << 2;
    QTest::addRow("126") << 126 << 4;
    QTest::addRow("65535") << 65535 << 4;
    QTest::addRow("65536") << 65536 << 10;
}

void tst_Protocol::textFrameLengths()
{
    QFETCH(int, size);
    QFETCH(int, headerSize);
    const QByteArray payload(size, 'x');
    const QByteArray frame = textFrame(payload);
    QCOMPARE(frame.size(), size + headerSize);
    QCOMPARE(quint8(frame.at(0)), quint8(0x81));
    quint64 length = quint8(frame.at(1)) & 0x7f;
    QVERIFY(!(quint8(frame.at(1)) & 0x80)); // servers do not mask
    if (length == 126)
        length = (quint64(quint8(frame.at(2))) << 8) | quint8(frame.at(3));
    else if (length == 127) {
        length = 0;
        for (int i = 2; i < 10; ++i)
            length = (length << 8) | quint8(frame.at(i));
    }
    QCOMPARE(length, quint64(size));
    QCOMPARE(frame.mid(headerSize), payload);
}

void tst_Protocol::errorCodesRoundTrip()
{
    const QMetaEnum errors = QMetaEnum::fromType<Error>();
    QSet<QString> codes;
    for (int i = 0; i < errors.keyCount(); ++i) {
        const auto error = Error(errors.value(i));
        const QString code = QStateSync::errorCode(error);
        QVERIFY2(!codes.contains(code), qPrintable(code));
        codes.insert(code);
        QCOMPARE(QStateSync::errorFromCode(code), error);
    }
    QCOMPARE(QStateSync::errorFromCode(u"no_such_code"), Error::UnknownError);
    for (auto reason : {QStateSync::RemovalReason::Removed, QStateSync::RemovalReason::Ttl,
                        QStateSync::RemovalReason::SelfDestruct}) {
        QCOMPARE(QStateSync::removalReasonFromName(QStateSync::removalReasonName(reason)), reason);
    }
}

QTEST_APPLESS_MAIN(tst_Protocol)
#include "tst_protocol.moc"
