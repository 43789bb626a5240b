// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncpresencemodel.h"

namespace {
struct Peer
{
    qint64 id = -1;
    QString clientIdentifier;
    QVariantMap information;
    QVariantMap data;

    static Peer fromJson(const QJsonObject &entry)
    {
        return Peer{entry.value(QLatin1String("id")).toInteger(-1),
                    entry.value(QLatin1String("clientIdentifier")).toString(),
                    entry.value(QLatin1String("information")).toObject().toVariantMap(),
                    entry.value(QLatin1String("data")).toObject().toVariantMap()};
    }
};
} // namespace

class QStateSyncPresenceModelPrivate
{
public:
    QList<Peer> peers;
    qint64 selfId = -1;

    QVariantMap toMap(const Peer &peer) const
    {
        return QVariantMap{{QStringLiteral("presenceId"), peer.id},
                           {QStringLiteral("clientIdentifier"), peer.clientIdentifier},
                           {QStringLiteral("information"), peer.information},
                           {QStringLiteral("presenceData"), peer.data},
                           {QStringLiteral("isSelf"), peer.id == selfId}};
    }
};

/*!
    \class QStateSyncPresenceModel
    \inmodule QStateSync
    \brief The QStateSyncPresenceModel class lists who is joined to the same state as a
    QStateSyncClient.

    Each row is one connection joined to the state, the client's own included, in the
    order they joined: its presence id (unique per connection, so one person in two
    windows appears twice), its client identifier, the public information the server's
    hooks chose for it (see QStateSyncJoinRequest::publicInformation), and the presence
    data the client set with QStateSyncClient::setPresenceData() (a cursor, "typing").
    Rows appear and go as clients join and leave or drop; the data changes as they set it.
    The model is empty while the client is not joined, and with a v1 server.

    In QML, the roles are \c presenceId, \c clientIdentifier, \c information,
    \c presenceData and \c isSelf.

    \sa QStateSyncClient::presence
*/

/*!
    \enum QStateSyncPresenceModel::Role

    \value PresenceIdRole The connection's presence id (\c qint64).
    \value ClientIdentifierRole The client identifier (also Qt::DisplayRole).
    \value InformationRole The public information, a QVariantMap.
    \value PresenceDataRole The presence data the client set, a QVariantMap.
    \value IsSelfRole Whether the row is the model's own client.
*/

/*!
    \property QStateSyncPresenceModel::count
    \brief the number of rows.
*/

/*!
    \property QStateSyncPresenceModel::selfId
    \brief the presence id of the model's own client; -1 when not joined.
*/

/*!
    \fn void QStateSyncPresenceModel::countChanged()

    This signal is emitted when count changes.
*/

/*!
    \fn void QStateSyncPresenceModel::selfIdChanged()

    This signal is emitted when selfId changes.
*/

QStateSyncPresenceModel::QStateSyncPresenceModel(QObject *parent)
    : QAbstractListModel(parent)
    , d(std::make_unique<QStateSyncPresenceModelPrivate>())
{ }

/*!
    Destroys the model.
*/
QStateSyncPresenceModel::~QStateSyncPresenceModel() = default;

/*!
    \reimp
*/
int QStateSyncPresenceModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->peers.size());
}

/*!
    \reimp
*/
QVariant QStateSyncPresenceModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return QVariant();
    const Peer &peer = d->peers.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case ClientIdentifierRole:
        return peer.clientIdentifier;
    case PresenceIdRole:
        return peer.id;
    case InformationRole:
        return peer.information;
    case PresenceDataRole:
        return peer.data;
    case IsSelfRole:
        return peer.id == d->selfId;
    default:
        return QVariant();
    }
}

/*!
    \reimp
*/
QHash<int, QByteArray> QStateSyncPresenceModel::roleNames() const
{
    return {{PresenceIdRole, "presenceId"},
            {ClientIdentifierRole, "clientIdentifier"},
            {InformationRole, "information"},
            {PresenceDataRole, "presenceData"},
            {IsSelfRole, "isSelf"}};
}

int QStateSyncPresenceModel::count() const
{
    return int(d->peers.size());
}

qint64 QStateSyncPresenceModel::selfId() const
{
    return d->selfId;
}

/*!
    Returns the row \a row as a map with the keys \c presenceId, \c clientIdentifier,
    \c information, \c presenceData and \c isSelf; an empty map for a row out of range.
*/
QVariantMap QStateSyncPresenceModel::get(int row) const
{
    if (row < 0 || row >= d->peers.size())
        return QVariantMap();
    return d->toMap(d->peers.at(row));
}

/*!
    Returns the row of the connection \a presenceId, or -1.
*/
int QStateSyncPresenceModel::indexOf(qint64 presenceId) const
{
    for (qsizetype row = 0; row < d->peers.size(); ++row) {
        if (d->peers.at(row).id == presenceId)
            return int(row);
    }
    return -1;
}

void QStateSyncPresenceModel::reset(const QJsonArray &entries, qint64 selfId)
{
    const int before = count();
    beginResetModel();
    d->peers.clear();
    for (const QJsonValue &entry : entries)
        d->peers.append(Peer::fromJson(entry.toObject()));
    const bool selfChanged = d->selfId != selfId;
    d->selfId = selfId;
    endResetModel();
    if (before != count())
        Q_EMIT countChanged();
    if (selfChanged)
        Q_EMIT selfIdChanged();
}

QVariantMap QStateSyncPresenceModel::upsert(const QJsonObject &entry)
{
    const Peer peer = Peer::fromJson(entry);
    const int row = indexOf(peer.id);
    if (row >= 0) {
        d->peers[row] = peer;
        const QModelIndex changed = index(row);
        Q_EMIT dataChanged(changed, changed);
    } else {
        beginInsertRows(QModelIndex(), count(), count());
        d->peers.append(peer);
        endInsertRows();
        Q_EMIT countChanged();
    }
    return d->toMap(peer);
}

QVariantMap QStateSyncPresenceModel::remove(qint64 presenceId)
{
    const int row = indexOf(presenceId);
    if (row < 0)
        return QVariantMap();
    const QVariantMap removed = d->toMap(d->peers.at(row));
    beginRemoveRows(QModelIndex(), row, row);
    d->peers.removeAt(row);
    endRemoveRows();
    Q_EMIT countChanged();
    return removed;
}

void QStateSyncPresenceModel::clear()
{
    reset(QJsonArray(), -1);
}
