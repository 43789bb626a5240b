// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSTATEMAP_P_H
#define QSTATESYNCSTATEMAP_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include <QtQml/qqmlpropertymap.h>

#include <functional>

// The client's state as QML sees it: one property per top-level key. Writes from QML are
// not stored here: they become updates, and the value changes when the server's
// broadcast comes back, so the map always shows the server's value.
class QStateSyncStateMap : public QQmlPropertyMap
{
    Q_OBJECT

public:
    using WriteHandler = std::function<void(const QString &key, const QVariant &value)>;

    QStateSyncStateMap(const WriteHandler &onWrite, QObject *parent);

    // Makes the map hold exactly value's keys: changed keys are set, keys that value
    // lacks are cleared (QQmlPropertyMap cannot remove a key), all in one bulk insert.
    void reset(const QVariantHash &value);
    void set(const QVariantHash &changed, const QStringList &removed);

protected:
    QVariant updateValue(const QString &key, const QVariant &input) override;

private:
    WriteHandler m_onWrite;
};

#endif // QSTATESYNCSTATEMAP_P_H
