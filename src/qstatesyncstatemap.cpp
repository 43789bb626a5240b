// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncstatemap_p.h"

#include <QtQml/qjsvalue.h>

QStateSyncStateMap::QStateSyncStateMap(const WriteHandler &onWrite, QObject *parent)
    : QQmlPropertyMap(this, parent)
    , m_onWrite(onWrite)
{ }

void QStateSyncStateMap::reset(const QVariantHash &value)
{
    QStringList removed;
    const QStringList current = keys();
    for (const QString &key : current) {
        if (!value.contains(key) && QQmlPropertyMap::value(key).isValid())
            removed.append(key);
    }
    set(value, removed);
}

namespace {
// QQmlPropertyMap refuses these names, and refuses a whole bulk insert that holds one:
// such keys stay out of the map (value() still has them).
bool isReserved(const QString &key)
{
    return key == QLatin1String("keys") || key == QLatin1String("valueChanged")
            || key == QLatin1String("QObject") || key == QLatin1String("destroyed")
            || key == QLatin1String("deleteLater");
}
} // namespace

void QStateSyncStateMap::set(const QVariantHash &changed, const QStringList &removed)
{
    QVariantHash accepted = changed;
    accepted.removeIf([](const QVariantHash::iterator it) { return isReserved(it.key()); });
    // One insert of many keys rebuilds the meta-object once; key by key it is quadratic.
    if (!accepted.isEmpty())
        insert(accepted);
    for (const QString &key : removed) {
        if (!isReserved(key))
            clear(key);
    }
}

QVariant QStateSyncStateMap::updateValue(const QString &key, const QVariant &input)
{
    QVariant plain = input;
    if (plain.metaType() == QMetaType::fromType<QJSValue>())
        plain = plain.value<QJSValue>().toVariant();
    m_onWrite(key, plain);
    // Keep the server's value until the broadcast brings the new one.
    return value(key);
}
