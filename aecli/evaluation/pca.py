"""The linear autoencoder against PCA (the chapter's exercise 1).

A linear autoencoder trained on squared error spans the same subspace as PCA's top k components
(Baldi & Hornik 1989), without its axes being the principal ones. `aecli eval` of such a run
reports, beside its own reconstruction MSE:

- pca_recon_mse: the mean squared error, over every value of the evaluated split, of the
  reconstruction by scikit-learn's PCA with k = latent_dim fit on the training split;
- pca_explained_variance: the sum of the k components' explained variance ratios (training);
- pca_principal_angles_deg: the principal angles (scipy.linalg.subspace_angles) between the
  decoder's column space and PCA's top-k subspace, in degrees, largest first; all near 0 when
  training found PCA's subspace.
"""

import numpy as np
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA


def pca_baseline(decoder_basis: np.ndarray, x_train: np.ndarray, x_eval: np.ndarray) -> dict:
    k = decoder_basis.shape[1]
    flat_train, flat_eval = x_train.reshape(len(x_train), -1), x_eval.reshape(len(x_eval), -1)
    pca = PCA(n_components=k).fit(flat_train)
    reconstruction = pca.inverse_transform(pca.transform(flat_eval))
    angles = np.degrees(subspace_angles(decoder_basis, pca.components_.T))
    return {
        "pca_recon_mse": float(np.mean((reconstruction - flat_eval) ** 2)),
        "pca_explained_variance": float(pca.explained_variance_ratio_.sum()),
        "pca_principal_angles_deg": [float(a) for a in angles],
    }
