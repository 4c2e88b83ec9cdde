"""rses"""
