// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "qstatesyncmerge_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncstatethreads_p.h"

#include <QtCore/qjsondocument.h>
#include <QtCore/qrandom.h>
#include <QtTest/qtest.h>

using namespace QStateSyncMerge;

namespace {
QJsonValue json(const char *text)
{
    // Wrap in an array so scalars and null parse too.
    const QByteArray wrapped = QByteArray("[") + text + "]";
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(wrapped, &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON %s: %s", text, qPrintable(error.errorString()));
    return document.array().at(0);
}

QJsonObject object(const char *text)
{
    return json(text).toObject();
}

// A small random JSON value over few keys, so that patches often meet at the same paths:
// nested objects (with nulls in them, which delete), scalars, arrays and null.
QJsonValue randomValue(QRandomGenerator &random, int depth)
{
    switch (random.bounded(depth > 0 ? 6 : 4)) {
    case 0:
        return QJsonValue::Null;
    case 1:
        return random.bounded(5);
    case 2:
        return QStringLiteral("s%1").arg(random.bounded(3));
    case 3:
        return QJsonArray{random.bounded(3)};
    default: {
        QJsonObject object;
        const int keys = random.bounded(4);
        for (int i = 0; i < keys; ++i)
            object.insert(QStringLiteral("k%1").arg(random.bounded(3)),
                          randomValue(random, depth - 1));
        return object;
    }
    }
}

QJsonObject randomObject(QRandomGenerator &random, int depth)
{
    QJsonObject object;
    const int keys = 1 + random.bounded(3);
    for (int i = 0; i < keys; ++i)
        object.insert(QStringLiteral("k%1").arg(random.bounded(3)), randomValue(random, depth));
    return object;
}

// The rule compose() must follow, written independently: two merge patches do not
// compose when, at some path, the first holds a non-object and the second an object.
bool composable(const QJsonObject &first, const QJsonObject &second)
{
    for (auto it = second.constBegin(); it != second.constEnd(); ++it) {
        if (!it.value().isObject() || !first.contains(it.key()))
            continue;
        const QJsonValue earlier = first.value(it.key());
        if (!earlier.isObject() || !composable(earlier.toObject(), it.value().toObject()))
            return false;
    }
    return true;
}
} // namespace

class tst_Merge : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void mergePatchRfc7386_data();
    void mergePatchRfc7386();
    void mergePatchDoesNotTouchOtherKeys();
    void shallowReplacesTopLevelAndStoresNull();
    void appendAddsItems();
    void appendIsAllOrNothing();
    void topLevelValuesGivesWholeValues();
    void changedKeysFindsAddedChangedRemoved();
    void depthOfValues_data();
    void depthOfValues();
    void textDepthMatchesParsedDepth_data();
    void textDepthMatchesParsedDepth();
    void textDepthStopsAtLimit();
    void setAtAndPatchAt_data();
    void setAtAndPatchAt();
    void composeExamples_data();
    void composeExamples();
    void composedPatchDoesWhatBothDo_data();
    void composedPatchDoesWhatBothDo();
    void nonComposablePatchesReallyDoNotCompose();
    void encodedSizeIsTheEncodingsSize_data();
    void encodedSizeIsTheEncodingsSize();
    void sizesFollowRandomChanges();
};

void tst_Merge::mergePatchRfc7386_data()
{
    QTest::addColumn<QJsonObject>("target");
    QTest::addColumn<QJsonObject>("patch");
    QTest::addColumn<QJsonObject>("expected");

    // The examples of RFC 7386, appendix A, whose target is an object.
    QTest::addRow("replace") << object(R"({"a":"b"})") << object(R"({"a":"c"})")
                             << object(R"({"a":"c"})");
    QTest::addRow("add") << object(R"({"a":"b"})") << object(R"({"b":"c"})")
                         << object(R"({"a":"b","b":"c"})");
    QTest::addRow("delete") << object(R"({"a":"b"})") << object(R"({"a":null})") << object(R"({})");
    QTest::addRow("delete one of two")
            << object(R"({"a":"b","b":"c"})") << object(R"({"a":null})") << object(R"({"b":"c"})");
    QTest::addRow("array replaces string")
            << object(R"({"a":["b"]})") << object(R"({"a":"c"})") << object(R"({"a":"c"})");
    QTest::addRow("string replaces array")
            << object(R"({"a":"c"})") << object(R"({"a":["b"]})") << object(R"({"a":["b"]})");
    QTest::addRow("nested") << object(R"({"a":{"b":"c"}})") << object(R"({"a":{"b":"d","c":null}})")
                            << object(R"({"a":{"b":"d"}})");
    QTest::addRow("array of objects replaced")
            << object(R"({"a":[{"b":"c"}]})") << object(R"({"a":[1]})") << object(R"({"a":[1]})");
    QTest::addRow("existing null kept")
            << object(R"({"e":null})") << object(R"({"a":1})") << object(R"({"e":null,"a":1})");
    QTest::addRow("object replaces scalar, nulls vanish")
            << object(R"({"a":"foo"})") << object(R"({"a":{"bb":{"ccc":null}}})")
            << object(R"({"a":{"bb":{}}})");
    QTest::addRow("deep merge three levels")
            << object(R"({"doc":{"meta":{"title":"x","tags":["a"]},"body":"b"}})")
            << object(R"({"doc":{"meta":{"title":"y"}}})")
            << object(R"({"doc":{"meta":{"title":"y","tags":["a"]},"body":"b"}})");
}

void tst_Merge::mergePatchRfc7386()
{
    QFETCH(QJsonObject, target);
    QFETCH(QJsonObject, patch);
    QFETCH(QJsonObject, expected);
    applyMergePatch(target, patch);
    QCOMPARE(target, expected);
}

void tst_Merge::mergePatchDoesNotTouchOtherKeys()
{
    QJsonObject target = object(R"({"keep":{"x":1},"change":{"y":1}})");
    const QJsonObject keepBefore = target.value(QStringLiteral("keep")).toObject();
    applyMergePatch(target, object(R"({"change":{"z":2}})"));
    QCOMPARE(target.value(QStringLiteral("keep")).toObject(), keepBefore);
    QCOMPARE(target.value(QStringLiteral("change")).toObject(), object(R"({"y":1,"z":2})"));
}

void tst_Merge::shallowReplacesTopLevelAndStoresNull()
{
    QJsonObject target = object(R"({"property":{"a":1,"nested":"old"},"other":2})");
    applyShallow(target, object(R"({"property":{"nested":"value"},"other":null})"));
    QCOMPARE(target, object(R"({"property":{"nested":"value"},"other":null})"));

    QJsonObject viaMode = object(R"({"a":{"b":1}})");
    apply(viaMode, object(R"({"a":{"c":2}})"), QStateSync::MergeMode::Shallow);
    QCOMPARE(viaMode, object(R"({"a":{"c":2}})"));
    QJsonObject deep = object(R"({"a":{"b":1}})");
    apply(deep, object(R"({"a":{"c":2}})"), QStateSync::MergeMode::Deep);
    QCOMPARE(deep, object(R"({"a":{"b":1,"c":2}})"));
}

void tst_Merge::appendAddsItems()
{
    QJsonObject target = object(R"({"messages":[{"t":"1"}],"empty":null})");
    QVERIFY(applyAppend(target,
                        object(R"({"messages":[{"t":"2"},{"t":"3"}],"new":[1],"empty":[2]})")));
    QCOMPARE(target,
             object(R"({"messages":[{"t":"1"},{"t":"2"},{"t":"3"}],"new":[1],"empty":[2]})"));
}

void tst_Merge::appendIsAllOrNothing()
{
    const QJsonObject before = object(R"({"list":[1],"text":"x"})");
    QJsonObject target = before;
    QString failedKey;
    QVERIFY(!applyAppend(target, object(R"({"list":[2],"text":[3]})"), &failedKey));
    QCOMPARE(failedKey, QStringLiteral("text"));
    QCOMPARE(target, before);

    QVERIFY(!applyAppend(target, object(R"({"list":"not an array"})"), &failedKey));
    QCOMPARE(failedKey, QStringLiteral("list"));
    QCOMPARE(target, before);
}

void tst_Merge::topLevelValuesGivesWholeValues()
{
    const QJsonObject value = object(R"({"a":{"b":1,"c":2},"d":3})");
    QCOMPARE(topLevelValues(value, object(R"({"a":{"b":1},"gone":null})")),
             object(R"({"a":{"b":1,"c":2},"gone":null})"));
}

void tst_Merge::changedKeysFindsAddedChangedRemoved()
{
    QStringList keys = changedKeys(object(R"({"same":1,"changed":1,"removed":1})"),
                                   object(R"({"same":1,"changed":2,"added":1})"));
    keys.sort();
    QCOMPARE(keys, QStringList({"added", "changed", "removed"}));
    QVERIFY(changedKeys(object(R"({"a":[1]})"), object(R"({"a":[1]})")).isEmpty());
}

void tst_Merge::depthOfValues_data()
{
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<int>("expected");
    QTest::addRow("scalar") << json("1") << 0;
    QTest::addRow("string") << json(R"("{[{[")") << 0;
    QTest::addRow("empty object") << json("{}") << 1;
    QTest::addRow("empty array") << json("[]") << 1;
    QTest::addRow("object in array") << json(R"([{"a":1}])") << 2;
    QTest::addRow("uneven") << json(R"({"a":[[[]]],"b":{}})") << 4;
}

void tst_Merge::depthOfValues()
{
    QFETCH(QJsonValue, value);
    QFETCH(int, expected);
    QCOMPARE(depth(value), expected);
}

void tst_Merge::textDepthMatchesParsedDepth_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("expected");
    QTest::addRow("flat") << QByteArray(R"({"type":2})") << 1;
    QTest::addRow("brackets in strings") << QByteArray("{\"a\":\"[[[{{{\",\"b\":\"\\\"[[\"}") << 1;
    QTest::addRow("escaped backslash before quote")
            << QByteArray("{\"a\":\"\\\\\",\"b\":[[1]]}") << 3;
    QTest::addRow("update") << QByteArray(R"({"type":3,"data":{"updates":{"a":[{}]}}})") << 5;
}

void tst_Merge::textDepthMatchesParsedDepth()
{
    QFETCH(QByteArray, text);
    QFETCH(int, expected);
    QCOMPARE(textDepth(QByteArrayView(text), 100), expected);
    QCOMPARE(textDepth(QStringView(QString::fromUtf8(text)), 100), expected);
    QCOMPARE(depth(QJsonDocument::fromJson(text).object()), expected);
}

void tst_Merge::textDepthStopsAtLimit()
{
    const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
    QCOMPARE(textDepth(QByteArrayView(deep), 64), 65);
    QCOMPARE(textDepth(QByteArrayView(deep), 1000000), 100000);
}

void tst_Merge::setAtAndPatchAt_data()
{
    QTest::addColumn<QJsonObject>("value");
    QTest::addColumn<QStringList>("path");
    QTest::addColumn<QJsonValue>("replacement");
    QTest::addColumn<QJsonObject>("expectedPatch");

    QTest::addRow("top level") << object(R"({"a":1})") << QStringList{"a"} << json("2")
                               << object(R"({"a":2})");
    QTest::addRow("nested object")
            << object(R"({"user":{"name":"x","age":3}})") << QStringList{"user", "name"}
            << json(R"("y")") << object(R"({"user":{"name":"y"}})");
    QTest::addRow("creates objects") << object(R"({})") << QStringList{"a", "b", "c"}
                                     << json("true") << object(R"({"a":{"b":{"c":true}}})");
    QTest::addRow("through an array sends the array")
            << object(R"({"list":[{"done":false},{"done":false}]})")
            << QStringList{"list", "1", "done"} << json("true")
            << object(R"({"list":[{"done":false},{"done":true}]})");
    QTest::addRow("index at the end appends")
            << object(R"({"list":[1]})") << QStringList{"list", "1"} << json("2")
            << object(R"({"list":[1,2]})");
}

void tst_Merge::setAtAndPatchAt()
{
    QFETCH(QJsonObject, value);
    QFETCH(QStringList, path);
    QFETCH(QJsonValue, replacement);
    QFETCH(QJsonObject, expectedPatch);

    const QJsonObject patch = patchAt(value, path, replacement);
    QCOMPARE(patch, expectedPatch);

    // Whatever the route, the merged result is the value with that one place set.
    QJsonObject merged = value;
    applyMergePatch(merged, patch);
    QJsonObject viaShallow = value;
    applyShallow(viaShallow,
                 QJsonObject{{path.first(),
                              setAt(value.value(path.first()), path.mid(1), replacement)}});
    QCOMPARE(merged, viaShallow);
    QCOMPARE(setAt(merged, path, replacement).toObject(), merged);
}

void tst_Merge::composeExamples_data()
{
    QTest::addColumn<QJsonObject>("first");
    QTest::addColumn<QJsonObject>("second");
    QTest::addColumn<QJsonValue>("expected"); // null: they do not compose

    QTest::addRow("disjoint keys")
            << object(R"({"a":1})") << object(R"({"b":2})") << json(R"({"a":1,"b":2})");
    QTest::addRow("later scalar wins")
            << object(R"({"a":{"x":1}})") << object(R"({"a":2})") << json(R"({"a":2})");
    QTest::addRow("later null deletes")
            << object(R"({"a":{"x":1}})") << object(R"({"a":null})") << json(R"({"a":null})");
    QTest::addRow("objects merge")
            << object(R"({"a":{"x":1,"y":null}})") << object(R"({"a":{"x":null,"z":3}})")
            << json(R"({"a":{"x":null,"y":null,"z":3}})");
    QTest::addRow("new object") << object(R"({"b":1})") << object(R"({"a":{"x":{"y":1}}})")
                                << json(R"({"a":{"x":{"y":1}},"b":1})");
    QTest::addRow("array then array")
            << object(R"({"a":[1]})") << object(R"({"a":[1,2]})") << json(R"({"a":[1,2]})");
    QTest::addRow("scalar then object")
            << object(R"({"a":1})") << object(R"({"a":{"x":1}})") << json("null");
    QTest::addRow("null then object")
            << object(R"({"a":null})") << object(R"({"a":{"x":1}})") << json("null");
    QTest::addRow("array then object")
            << object(R"({"a":[1]})") << object(R"({"a":{}})") << json("null");
    QTest::addRow("deep scalar then object")
            << object(R"({"a":{"b":{"c":1}}})") << object(R"({"a":{"b":{"c":{"d":1}}}})")
            << json("null");
}

void tst_Merge::composeExamples()
{
    QFETCH(QJsonObject, first);
    QFETCH(QJsonObject, second);
    QFETCH(QJsonValue, expected);

    const std::optional<QJsonObject> composed = compose(first, second);
    QCOMPARE(composed.has_value(), expected.isObject());
    if (composed)
        QCOMPARE(*composed, expected.toObject());
    // Top-level overwrite always composes.
    QJsonObject shallow = first;
    applyShallow(shallow, second);
    QCOMPARE(compose(first, second, QStateSync::MergeMode::Shallow), std::optional(shallow));
}

void tst_Merge::composedPatchDoesWhatBothDo_data()
{
    QTest::addColumn<QStateSync::MergeMode>("mode");
    QTest::addRow("deep") << QStateSync::MergeMode::Deep;
    QTest::addRow("shallow") << QStateSync::MergeMode::Shallow;
}

void tst_Merge::composedPatchDoesWhatBothDo()
{
    QFETCH(QStateSync::MergeMode, mode);
    QRandomGenerator random(20260101);
    int composed = 0;
    int refused = 0;
    for (int round = 0; round < 20000; ++round) {
        const QJsonObject target = randomObject(random, 3);
        const QJsonObject first = randomObject(random, 2);
        const QJsonObject second = randomObject(random, 2);
        const std::optional<QJsonObject> patch = compose(first, second, mode);
        if (mode == QStateSync::MergeMode::Deep)
            QCOMPARE(patch.has_value(), composable(first, second));
        else
            QVERIFY(patch.has_value());
        if (!patch) {
            ++refused;
            continue;
        }
        ++composed;
        QJsonObject stepwise = target;
        apply(stepwise, first, mode);
        apply(stepwise, second, mode);
        QJsonObject atOnce = target;
        apply(atOnce, *patch, mode);
        QCOMPARE(atOnce, stepwise);

        // Composing stays right over a longer run, as a slow client's patches pile up.
        QJsonObject third = randomObject(random, 2);
        QJsonObject running = *patch;
        if (composeInto(running, third, mode)) {
            apply(stepwise, third, mode);
            QJsonObject allAtOnce = target;
            apply(allAtOnce, running, mode);
            QCOMPARE(allAtOnce, stepwise);
        }
    }
    // Both outcomes were exercised many times.
    QVERIFY2(composed > 5000, qPrintable(QString::number(composed)));
    if (mode == QStateSync::MergeMode::Deep)
        QVERIFY2(refused > 1000, qPrintable(QString::number(refused)));
}

void tst_Merge::nonComposablePatchesReallyDoNotCompose()
{
    // After {"a":1}, the object {"a":{"b":1}} starts from {}: the result is exactly
    // {"a":{"b":1}}. A single patch that contains an object at "a" merges into what the
    // target had there instead, and one that does not cannot put an object there.
    const QJsonObject first = object(R"({"a":1})");
    const QJsonObject second = object(R"({"a":{"b":1}})");
    QVERIFY(!compose(first, second));
    const QJsonObject target = object(R"({"a":{"z":1}})");
    QJsonObject stepwise = target;
    applyMergePatch(stepwise, first);
    applyMergePatch(stepwise, second);
    QCOMPARE(stepwise, object(R"({"a":{"b":1}})"));
    QJsonObject candidate = target;
    applyMergePatch(candidate, second);
    QVERIFY(candidate != stepwise);
}

void tst_Merge::encodedSizeIsTheEncodingsSize_data()
{
    QTest::addColumn<QJsonValue>("value");
    // Strings counted without encoding, and every kind that is encoded to be measured:
    // escapes, control characters, DEL, non-ASCII text, surrogates, numbers.
    const char *texts[] = {
            R"("plain")",
            R"("")",
            R"("a/b")",
            R"("quote \" in")",
            R"("back\\slash")",
            R"("tab\tnew\nline")",
            R"("ctrl \u0001 \u001f")",
            R"("del \u007f")",
            R"("caf\u00e9")",
            R"("\u2028")",
            R"("\ud83d\ude00")",
            R"("\ud800 lone")",
            "true",
            "false",
            "null",
            "0",
            "-1",
            "1.5",
            "1e300",
            "-0.000001",
            "123456789012345678",
            "100000",
            "{}",
            "[]",
            R"({"a":[1,"x",{"b":null}],"c":"d","\u00e9":true})",
            R"([[],{},[[]],"x\"y"])",
    };
    for (const char *text : texts)
        QTest::newRow(text) << json(text);
}

void tst_Merge::encodedSizeIsTheEncodingsSize()
{
    QFETCH(QJsonValue, value);
    QCOMPARE(QStateSyncValueSizes::encodedSize(value), QStateSyncProtocol::toJson(value).size());
    if (value.isString()) {
        QCOMPARE(QStateSyncValueSizes::keySize(value.toString()),
                 QStateSyncProtocol::toJson(value).size() + 1);
    }
}

// The sizes a state keeps match the encoding of its value through random updates, merge
// patches and appends, in both merge modes.
void tst_Merge::sizesFollowRandomChanges()
{
    QRandomGenerator random(20261127);
    const QString specials = QStringLiteral("ab\"\\\n\u00e9/\u007f");
    const auto randomText = [&] {
        QString text;
        for (int i = random.bounded(4); i > 0; --i)
            text += specials.at(random.bounded(int(specials.size())));
        return text;
    };
    for (const auto mode : {QStateSync::MergeMode::Shallow, QStateSync::MergeMode::Deep}) {
        QJsonObject value;
        QStateSyncValueSizes sizes;
        sizes.measure(value);
        for (int round = 0; round < 400; ++round) {
            QJsonObject changes;
            const bool append = random.bounded(4) == 0;
            const QString key = QStringLiteral("k%1").arg(random.bounded(4));
            if (append) {
                changes.insert(
                        key, QJsonArray{randomText(), random.bounded(100), randomValue(random, 1)});
            } else {
                changes = randomObject(random, 2);
                changes.insert(randomText(), randomText());
            }
            // Applied as a state thread applies a change (QStateSyncStateBatch::run()
            // calls the server's own apply step).
            QStateSyncStateBatch batch;
            batch.value = value;
            batch.sizes = sizes;
            batch.mergeMode = mode;
            QStateSyncStateBatch::Item item;
            item.kind = append ? QStateSyncUpdateRequest::Append : QStateSyncUpdateRequest::Update;
            item.changes = changes;
            batch.items.push_back(item);
            batch.run();
            if (!batch.items.front().applied())
                continue; // an append to a key that holds no array
            value = batch.value;
            sizes = batch.sizes;
            QCOMPARE(sizes.total(value), QStateSyncProtocol::toJson(value).size());
        }
        QVERIFY(!value.isEmpty());
    }
}

QTEST_APPLESS_MAIN(tst_Merge)
#include "tst_merge.moc"
