"""Grouping voiceprints into speakers.

Average-linkage agglomerative clustering on cosine distance proposes the partition; spherical
k-means, weighted by the seconds each window stands for, refines it. A call centre call is
two parties, so two speakers is the starting point; a third (a transfer) must be clearly
apart from the others, and a call whose two best groups sound alike is one speaker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa_pipeline.diarization.options import DiarizationOptions

_KMEANS_ROUNDS = 20
# Most groups the tree is cut into while looking for two with enough speech each.
_MAX_SPLIT = 12
# The linkage tree needs memory quadratic in the windows it holds (an hour of speech is about
# 5,000 windows); beyond this many, it is built on evenly spaced windows and k-means uses all.
_MAX_TREE_WINDOWS = 2000


@dataclass(frozen=True, eq=False)
class Clustering:
    """Speakers of a set of windows.

    Attributes:
        labels: Speaker index per window.
        centroids: Unit-length voiceprint per speaker, shape (speakers, dims).
        similarity: Cosine similarity of each window to each centroid, shape (windows, speakers).
        separation: Cosine similarity of the two largest speakers' centroids; 1.0 with fewer
            than two speakers.
    """

    labels: np.ndarray
    centroids: np.ndarray
    similarity: np.ndarray
    separation: float

    @property
    def num_speakers(self) -> int:
        return int(self.centroids.shape[0])


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _centroids(emb: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    cents = np.zeros((k, emb.shape[1]), dtype=np.float64)
    for j in range(k):
        sel = labels == j
        if sel.any():
            cents[j] = (emb[sel] * weights[sel, None]).sum(axis=0)
    return _normalise(cents)


def _kmeans(emb: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    for _ in range(_KMEANS_ROUNDS):
        cents = _centroids(emb, weights, labels, k)
        new = np.argmax(emb @ cents.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _compact(labels: np.ndarray) -> tuple[np.ndarray, int]:
    used = np.unique(labels)
    remap = {int(old): new for new, old in enumerate(used)}
    return np.array([remap[int(x)] for x in labels], dtype=int), len(used)


def _fold_small(
    emb: np.ndarray, weights: np.ndarray, labels: np.ndarray, min_seconds: float
) -> np.ndarray:
    """Fold clusters with too little speech into their nearest neighbour, smallest first."""
    labels, k = _compact(labels)
    while k > 1:
        mass = np.bincount(labels, weights=weights, minlength=k)
        small = int(np.argmin(mass))
        if mass[small] >= min_seconds:
            break
        cents = _centroids(emb, weights, labels, k)
        sims = cents @ cents[small]
        sims[small] = -np.inf
        labels = np.where(labels == small, int(np.argmax(sims)), labels)
        labels, k = _compact(labels)
        labels = _kmeans(emb, weights, labels, k)
        labels, k = _compact(labels)
    return labels


def _merge_alike(emb: np.ndarray, weights: np.ndarray, labels: np.ndarray, distance: float) -> np.ndarray:
    """Beyond two speakers, merge the closest pair of clusters while they are nearer than ``distance``."""
    labels, k = _compact(labels)
    while k > 2:
        cents = _centroids(emb, weights, labels, k)
        sims = cents @ cents.T
        np.fill_diagonal(sims, -np.inf)
        a, b = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if 1.0 - sims[a, b] >= distance:
            break
        labels = np.where(labels == b, a, labels)
        labels, k = _compact(labels)
        labels = _kmeans(emb, weights, labels, k)
        labels, k = _compact(labels)
    return labels


def _seed_centroids(tree: np.ndarray, emb: np.ndarray, weights: np.ndarray, options: DiarizationOptions) -> np.ndarray | None:
    """Starting voiceprints: the groups of the tree with enough speech each.

    Cut at ``new_speaker_distance``, every group with ``min_speaker_seconds`` of speech is a
    speaker. With fewer than two such groups, the tree is cut into more and more groups until
    two of them hold enough speech (a lone odd window must not pose as the second party);
    None when that never happens (one voice).
    """
    from scipy.cluster.hierarchy import fcluster

    def big(labels: np.ndarray) -> list[int]:
        mass = np.bincount(labels, weights=weights)
        order = [int(j) for j in np.argsort(-mass) if mass[j] >= options.min_speaker_seconds]
        return order

    apart = fcluster(tree, t=options.new_speaker_distance, criterion="distance") - 1
    groups = big(apart)
    if len(groups) < 2:
        for k in range(2, min(emb.shape[0], _MAX_SPLIT) + 1):
            apart = fcluster(tree, t=k, criterion="maxclust") - 1
            groups = big(apart)
            if len(groups) >= 2:
                groups = groups[:2]
                break
        else:
            return None
    groups = groups[: options.max_speakers]
    return _normalise(np.stack([(emb[apart == j] * weights[apart == j, None]).sum(axis=0) for j in groups]))


def cluster_speakers(
    embeddings: np.ndarray, weights: np.ndarray, core: np.ndarray, options: DiarizationOptions
) -> Clustering:
    """Decide how many speakers there are and which window belongs to whom.

    Args:
        embeddings: Unit-length voiceprints, shape (windows, dims).
        weights: Seconds of speech each window stands for (they sum to the speech time).
        core: Windows long enough to shape the clusters; the others are only assigned.
        options: Thresholds (``new_speaker_distance``, ``min_speaker_seconds``,
            ``single_speaker_similarity``, ``max_speakers``).

    Returns:
        The clustering; speakers are numbered by their first window.
    """
    from scipy.cluster.hierarchy import linkage

    emb = _normalise(np.asarray(embeddings, dtype=np.float64))
    weights = np.asarray(weights, dtype=np.float64)
    n = emb.shape[0]
    if n == 0:
        return Clustering(np.zeros(0, dtype=int), np.zeros((0, emb.shape[1] if emb.ndim == 2 else 0)),
                          np.zeros((0, 0)), 1.0)
    core = np.asarray(core, dtype=bool)
    if core.sum() < 2:
        core = np.ones(n, dtype=bool)
    cemb, cw = emb[core], weights[core]
    if cemb.shape[0] < 2 or options.max_speakers == 1:
        labels_core = np.zeros(cemb.shape[0], dtype=int)
    else:
        pick = np.linspace(0, cemb.shape[0] - 1, min(cemb.shape[0], _MAX_TREE_WINDOWS)).round().astype(int)
        tree = linkage(cemb[pick], method="average", metric="cosine")
        seeds = _seed_centroids(tree, cemb[pick], cw[pick] * (cw.sum() / cw[pick].sum()), options)
        if seeds is None:
            labels_core = np.zeros(cemb.shape[0], dtype=int)
        else:
            labels_core, k = _compact(np.argmax(cemb @ seeds.T, axis=1))
            labels_core = _kmeans(cemb, cw, labels_core, k)
            labels_core = _fold_small(cemb, cw, labels_core, options.min_speaker_seconds)
            labels_core = _merge_alike(cemb, cw, labels_core, options.new_speaker_distance)
    labels_core, k = _compact(labels_core)
    cents = _centroids(cemb, cw, labels_core, k)
    separation = 1.0
    if k >= 2:
        mass = np.bincount(labels_core, weights=cw, minlength=k)
        top = np.argsort(-mass)[:2]
        separation = float(cents[top[0]] @ cents[top[1]])
        if k == 2 and separation >= options.single_speaker_similarity:
            cents = _centroids(cemb, cw, np.zeros_like(labels_core), 1)
            k = 1
    sims = emb @ cents.T
    labels = np.argmax(sims, axis=1)
    # Number speakers in order of appearance, so speaker 0 is the first voice heard.
    order: list[int] = []
    for x in labels:
        if int(x) not in order:
            order.append(int(x))
    order += [j for j in range(k) if j not in order]
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return Clustering(rank[labels], cents[order], sims[:, order], separation if k >= 2 else 1.0)
