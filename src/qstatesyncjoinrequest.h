// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCJOINREQUEST_H
#define QSTATESYNCJOINREQUEST_H

#include "qstatesyncrequest.h"

#include <QtCore/qvariant.h>

class QStateSyncJoinRequestPrivate;

class Q_STATESYNC_EXPORT QStateSyncJoinRequest : public QStateSyncRequest
{
    Q_OBJECT
    Q_PROPERTY(QString stateIdentifier READ stateIdentifier CONSTANT)
    Q_PROPERTY(QString clientIdentifier READ clientIdentifier CONSTANT)
    Q_PROPERTY(QVariantMap clientInformation READ clientInformation CONSTANT)
    Q_PROPERTY(QVariantMap publicInformation READ publicInformation WRITE setPublicInformation
                       NOTIFY publicInformationChanged)

public:
    ~QStateSyncJoinRequest() override;

    QString stateIdentifier() const;
    QString clientIdentifier() const;
    QVariantMap clientInformation() const;
    QVariantMap publicInformation() const;
    void setPublicInformation(const QVariantMap &information);

public Q_SLOTS:
    void accept();

Q_SIGNALS:
    void publicInformationChanged();

private:
    friend class QStateSyncerPrivate;
    QStateSyncJoinRequest(const QString &stateIdentifier, const QString &clientIdentifier,
                          const QVariantMap &clientInformation,
                          const QVariantMap &publicInformation, QObject *parent);

    Q_DISABLE_COPY_MOVE(QStateSyncJoinRequest)
    std::unique_ptr<QStateSyncJoinRequestPrivate> const d;
};

#endif // QSTATESYNCJOINREQUEST_H
