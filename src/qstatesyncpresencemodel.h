// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCPRESENCEMODEL_H
#define QSTATESYNCPRESENCEMODEL_H

#include "qstatesync_global.h"

#include <QtCore/qabstractitemmodel.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>

#include <memory>

class QStateSyncPresenceModelPrivate;

class Q_STATESYNC_EXPORT QStateSyncPresenceModel : public QAbstractListModel
{
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(qint64 selfId READ selfId NOTIFY selfIdChanged)

public:
    enum Role {
        PresenceIdRole = Qt::UserRole + 1,
        ClientIdentifierRole,
        InformationRole,
        PresenceDataRole,
        IsSelfRole,
    };
    Q_ENUM(Role)

    ~QStateSyncPresenceModel() override;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    int count() const;
    qint64 selfId() const;
    Q_INVOKABLE QVariantMap get(int row) const;
    Q_INVOKABLE int indexOf(qint64 presenceId) const;

Q_SIGNALS:
    void countChanged();
    void selfIdChanged();

private:
    friend class QStateSyncClientPrivate;
    explicit QStateSyncPresenceModel(QObject *parent);
    void reset(const QJsonArray &entries, qint64 selfId);
    QVariantMap upsert(const QJsonObject &entry);
    QVariantMap remove(qint64 presenceId);
    void clear();

    Q_DISABLE_COPY_MOVE(QStateSyncPresenceModel)
    std::unique_ptr<QStateSyncPresenceModelPrivate> const d;
};

#endif // QSTATESYNCPRESENCEMODEL_H
