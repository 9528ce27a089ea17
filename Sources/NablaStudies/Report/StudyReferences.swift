/// The sources the study reports cite, by paper (author, year, title, venue) — never by file name or
/// course code.
public enum StudyReferences {
    /// How the reports' statistics are computed, one line each.
    public static let method = [
        "Per variant: mean, sample standard deviation and 95% Student-t interval of the mean over the final seeds (Student, 1908).",
        "Against the reference: the paired differences d_i = variant_i − reference_i over the same seeds; their mean, its 95% t-interval, "
            + "the paired t-test, and the effect size d_z = mean(d)/sd(d) with Hedges' correction g_z (Lakens, 2013).",
        "Holm–Bonferroni over the comparisons of one family keeps the chance of any false 'better' or 'worse' in it below 5% (Holm, 1979).",
        "Verdict 'better'/'worse' only when the adjusted p < 0.05 and the interval excludes 0; 'no detectable difference (n = 5)' is not "
            + "'no difference': with few seeds only large, consistent effects are detectable (Bouthillier et al., 2021).",
        "Hyper-parameters are chosen on a validation split only, with the same budget for every variant (Dodge et al., 2019); the test "
            + "split is evaluated once per final run. Several seeds, paired comparisons, intervals (Henderson et al., 2018).",
    ]

    /// Every work the reports cite.
    public static let all = [
        "Bergstra, J. & Bengio, Y. (2012). Random Search for Hyper-Parameter Optimization. JMLR 13.",
        "Bouthillier, X. et al. (2021). Accounting for Variance in Machine Learning Benchmarks. MLSys.",
        "Dodge, J., Gururangan, S., Card, D., Schwartz, R. & Smith, N. A. (2019). Show Your Work: Improved Reporting of Experimental Results. EMNLP.",
        "Guo, C., Pleiss, G., Sun, Y. & Weinberger, K. Q. (2017). On Calibration of Modern Neural Networks. ICML.",
        "He, K., Zhang, X., Ren, S. & Sun, J. (2015). Delving Deep into Rectifiers. ICCV.",
        "He, K., Zhang, X., Ren, S. & Sun, J. (2016). Deep Residual Learning for Image Recognition. CVPR.",
        "Henderson, P. et al. (2018). Deep Reinforcement Learning that Matters. AAAI.",
        "Holm, S. (1979). A Simple Sequentially Rejective Multiple Test Procedure. Scandinavian Journal of Statistics 6.",
        "Huang, G., Sun, Y., Liu, Z., Sedra, D. & Weinberger, K. Q. (2016). Deep Networks with Stochastic Depth. ECCV.",
        "Ioffe, S. & Szegedy, C. (2015). Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift. ICML.",
        "Jamieson, K. & Talwalkar, A. (2016). Non-stochastic Best Arm Identification and Hyperparameter Optimization. AISTATS.",
        "Krizhevsky, A., Sutskever, I. & Hinton, G. E. (2012). ImageNet Classification with Deep Convolutional Neural Networks. NeurIPS.",
        "Krogh, A. & Hertz, J. A. (1992). A Simple Weight Decay Can Improve Generalization. NeurIPS.",
        "Lakens, D. (2013). Calculating and Reporting Effect Sizes to Facilitate Cumulative Science. Frontiers in Psychology 4.",
        "Li, L., Jamieson, K., DeSalvo, G., Rostamizadeh, A. & Talwalkar, A. (2018). Hyperband. JMLR 18.",
        "Loshchilov, I. & Hutter, F. (2017). SGDR: Stochastic Gradient Descent with Warm Restarts. ICLR.",
        "Loshchilov, I. & Hutter, F. (2019). Decoupled Weight Decay Regularization. ICLR.",
        "Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. & Salakhutdinov, R. (2014). Dropout: A Simple Way to Prevent Neural Networks from Overfitting. JMLR 15.",
        "Student (1908). The Probable Error of a Mean. Biometrika 6.",
        "Tibshirani, R. (1996). Regression Shrinkage and Selection via the Lasso. JRSS B 58.",
        "Xiao, H., Rasul, K. & Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.",
        "Zhang, C., Bengio, S., Hardt, M., Recht, B. & Vinyals, O. (2017). Understanding Deep Learning Requires Rethinking Generalization. ICLR.",
        "Zou, H. & Hastie, T. (2005). Regularization and Variable Selection via the Elastic Net. JRSS B 67.",
    ]
}
