"""Reads sent on every request, compiled to SQL once per process instead of once per request.

Django compiles a queryset's SQL each time it runs (about 0.3 ms for a look-up with a join, several
ms for routing's annotated, locked read of the pools). A `CompiledLookup` compiles its queryset once
per database with placeholder keys, then sends the same SQL with the keys of each call and builds
the model instances, related objects included, as Django's ModelIterable does; `CompiledValues`
does the same for a values() queryset and gives its rows as dicts, converted as Django converts
them. What is read stays current: only the SQL text is kept.
"""

import uuid

from django.db import connections, router
from django.db.models.query import get_related_populators


class CompiledLookup:
    """`build(*keys)` -> a queryset selecting by those UUID keys; `get(*keys)` -> its one object or None."""

    def __init__(self, model, build):
        self.model, self.build = model, build
        self.compiled = {}  # database alias -> (compiler, sql, params, positions of the keys)

    def get(self, *keys):
        keys = [key if isinstance(key, uuid.UUID) else uuid.UUID(str(key)) for key in keys]
        db = router.db_for_read(self.model)
        compiler, sql, params, positions = self.compiled.get(db) or self._compile(db, len(keys))
        params = list(params)
        for position, (key, as_text) in positions.items():
            params[position] = keys[key].hex if as_text else keys[key]
        with connections[db].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchmany(2)
        if len(rows) != 1:
            return None
        return self._instance(compiler, db, next(iter(compiler.results_iter([rows]))))

    def _compile(self, db, count):
        placeholders = [uuid.uuid4() for _ in range(count)]
        compiler = self.build(*placeholders).query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        positions = {}
        for position, param in enumerate(params):
            for key, placeholder in enumerate(placeholders):
                if param == placeholder or param == placeholder.hex:  # SQLite binds UUIDs as hex text
                    positions[position] = (key, isinstance(param, str))
        assert {key for key, _ in positions.values()} == set(range(count)), "a key is missing from the SQL"
        self.compiled[db] = compiled = (compiler, sql, tuple(params), positions)
        return compiled

    @staticmethod
    def _instance(compiler, db, row):
        """The model instance of one row, its select_related objects attached (ModelIterable's way)."""
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        names = [column[0].target.attname for column in select[start:end]]
        instance = klass_info["model"].from_db(db, names, row[start:end])
        for populator in get_related_populators(klass_info, select, db):
            populator.populate(row, instance)
        return instance


class CompiledValues(CompiledLookup):
    """`build(*keys)` -> a values() queryset by those UUID keys; `rows(*keys, using=alias)` -> its rows as dicts."""

    def __init__(self, build):
        super().__init__(None, build)

    def rows(self, *keys, using):
        keys = [key if isinstance(key, uuid.UUID) else uuid.UUID(str(key)) for key in keys]
        compiler, sql, params, positions = self.compiled.get(using) or self._compile(using, len(keys))
        params = list(params)
        for position, (key, as_text) in positions.items():
            params[position] = keys[key].hex if as_text else keys[key]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        query = compiler.query
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        return [dict(zip(names, row, strict=True)) for row in compiler.results_iter([rows])]
